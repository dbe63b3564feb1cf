"""Serving Headwater over HTTP: what uvicorn does not bound by itself.

- :mod:`headwater.serving.body`: the time a client may leave between two parts of a request body;
- :mod:`headwater.serving.protocol`: the time a client has to send a request's headers;
- :mod:`headwater.serving.supervise`: workers that exit when the serving process dies;
- :mod:`headwater.serving.config`: the uvicorn configuration that carries all of it to the workers;
- :mod:`headwater.serving.cors`: CORS for browser apps on the listed origins (``HEADWATER_CORS_ORIGINS``).
"""
