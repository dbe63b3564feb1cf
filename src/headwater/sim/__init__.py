"""``headwater sim``: a built-in, deterministic, OpenAI-compatible model server.

It serves any model name on ``/v1/chat/completions``, ``/v1/completions`` (both streamed or not),
``/v1/embeddings`` and ``/v1/models``, plus ``/health``. Replies are words from a small vocabulary,
each exactly one token by :mod:`headwater.token_estimate`, chosen from a seed, the prompt and the model, so
the text and the ``usage`` are reproducible; embeddings are unit vectors derived from each input.
Latency is simulated: ``ttft_ms`` before the first token, then ``1 / tokens_per_second`` between
tokens (a non-streamed reply waits the sum). A client that disconnects stops the generation.

Generation follows vLLM: ``max_completion_tokens`` (else ``max_tokens``) caps each choice; ``n``
choices are returned (1 to 128), and completions generate ``best_of`` sequences (at least ``n``) of
which the first ``n`` are returned; ``usage.completion_tokens`` counts every generated sequence. A
reply ends naturally after 8 to 48 words, or, with ``ignore_eos: true`` in the request or the
``:ignore-eos`` directive, only at its cap, which without ``max_tokens`` is the context length
(``SimConfig.max_model_len``) minus the prompt, as vLLM's default. A prompt plus cap beyond the
context length is a 400 ``context_length_exceeded``.

Chat requests with ``tools`` are answered with a ``tool_calls`` message whose arguments are valid for
the function's JSON Schema (:mod:`headwater.sim.tools`, :mod:`headwater.sim.schema_gen`), and with
plain text once the conversation ends with a tool result; ``response_format`` ``json_schema`` and
``json_object`` get JSON valid for the schema. ``stop``, ``seed``, ``logprobs``/``top_logprobs``
(and the legacy ``logprobs`` of completions) are honoured, and every answer is tokens the estimator
counts one each (:mod:`headwater.sim.pieces`), so ``usage`` is exactly its count
(:mod:`headwater.sim.answers`).

Failure injection: the requested model may end with directives after colons; they are stripped
before the model is echoed and can be combined (``sim-chat:no-usage:cut`` echoes ``sim-chat``):

``:fail-400`` ``:fail-401`` ``:fail-429`` ``:fail-500`` ``:fail-503``
    answer that status with an OpenAI error body; 429 and 503 also send ``retry-after: 7``.
``:garbage``
    answer 200 with ``content-type: application/json`` and the body ``not json at all``.
``:hang``
    wait 60 seconds before answering (for upstream timeout tests).
``:no-usage``
    omit ``usage`` from the response, and never send the usage chunk of a stream.
``:ignore-eos``
    the reply runs to its cap (see above) instead of ending after 8 to 48 words.
``:cut``
    a stream sends three token chunks, then the connection is dropped mid-body (no finish chunk,
    no ``[DONE]``, no end of the chunked body); a non-streamed reply announces its full length and
    is dropped after half of its body.

Besides, ``SimConfig.error_rate`` makes model requests fail with a 500 at that probability, drawn
from a ``random.Random(seed)`` per application.

:func:`headwater.sim.app.create_sim_app` builds the ASGI application and
:func:`headwater.sim.server.run` serves it with uvicorn.
"""
