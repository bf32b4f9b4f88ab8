"""Turn the judges' rows into what people read: Markdown and JSON tables, the chart."""
