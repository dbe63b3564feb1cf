// The official openai npm SDK, unchanged, against an OpenAI-compatible base URL (Headwater's /v1).
//
//   node check.mjs BASE_URL API_KEY MODEL   (or OPENAI_BASE_URL, OPENAI_API_KEY, MODEL in the environment)
//
// Runs chat completions (whole, then streamed with usage), responses.create and responses.stream,
// each with a function tool when TOOLS=1, and prints one JSON object: for each call its text, its
// first tool call ({name, arguments}) and its usage, or {error: {status, message}} when it failed.
// Exits 0 once every call has been tried; the caller judges the results.
import OpenAI from "openai";

const [baseURL, apiKey, model] = [
  process.argv[2] ?? process.env.OPENAI_BASE_URL,
  process.argv[3] ?? process.env.OPENAI_API_KEY,
  process.argv[4] ?? process.env.MODEL,
];
if (!baseURL || !apiKey || !model) {
  console.error("usage: node check.mjs BASE_URL API_KEY MODEL");
  process.exit(2);
}
const tools = process.env.TOOLS === "1";
const question = tools ? "What is the weather in Paris?" : "Say hello.";
const weather = {
  name: "get_weather",
  description: "The weather in a place.",
  parameters: {
    type: "object",
    properties: { location: { type: "string" } },
    required: ["location"],
  },
};
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 15_000 });

function chatArgs() {
  const args = { model, messages: [{ role: "user", content: question }] };
  if (tools) args.tools = [{ type: "function", function: weather }];
  return args;
}

function responsesArgs() {
  const args = { model, input: question };
  if (tools) args.tools = [{ type: "function", ...weather }];
  return args;
}

function call(name, args) {
  return name ? { name, arguments: JSON.parse(args) } : null;
}

function fromResponse(response) {
  const calls = response.output.filter((item) => item.type === "function_call");
  return {
    model: response.model,
    status: response.status,
    text: response.output_text,
    tool: calls.length ? call(calls[0].name, calls[0].arguments) : null,
    usage: { input: response.usage.input_tokens, output: response.usage.output_tokens },
  };
}

const checks = {
  async chat() {
    const reply = await client.chat.completions.create(chatArgs());
    const message = reply.choices[0].message;
    const first = message.tool_calls?.[0];
    return {
      model: reply.model,
      text: message.content ?? "",
      tool: first ? call(first.function.name, first.function.arguments) : null,
      usage: { input: reply.usage.prompt_tokens, output: reply.usage.completion_tokens },
    };
  },
  async chat_stream() {
    const stream = await client.chat.completions.create({
      ...chatArgs(),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let name = null;
    let args = "";
    let usage = null;
    let chunks = 0;
    const models = new Set();
    for await (const chunk of stream) {
      chunks += 1;
      models.add(chunk.model);
      if (chunk.usage) usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        for (const piece of choice.delta.tool_calls ?? []) {
          name = name ?? piece.function?.name ?? null;
          args += piece.function?.arguments ?? "";
        }
      }
    }
    return { model: [...models].join(","), text, tool: call(name, args), usage, chunks };
  },
  async responses() {
    return fromResponse(await client.responses.create(responsesArgs()));
  },
  async responses_stream() {
    const stream = client.responses.stream(responsesArgs());
    const types = new Set();
    let deltas = "";
    for await (const event of stream) {
      types.add(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
    }
    const final = await stream.finalResponse();
    return { ...fromResponse(final), deltas, events: [...types].sort() };
  },
};

const results = {};
for (const [name, check] of Object.entries(checks)) {
  try {
    results[name] = await check();
  } catch (error) {
    results[name] = { error: { status: error?.status ?? null, message: String(error?.message ?? error) } };
  }
}
console.log(JSON.stringify(results));
