"""Wire protocols: one module per API the gateway speaks (to clients, to upstreams, or both).

OpenAI's chat completions is the canonical form: a client's request in another API is translated
to it (``request_to_chat``), an upstream that speaks another API gets it translated from it
(``request_from_chat``), and answers travel back the same way (:mod:`.base` has the interfaces).
When the client and the upstream speak the same API the bytes pass through untranslated.
"""
