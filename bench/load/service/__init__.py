"""A real ASGI service under load: the app, its load generator, the runner."""
