// Ready-to-run snippets for a new key: curl, the Python `openai` SDK and LangChain, against the
// gateway's OpenAI-compatible base URL, with a model the key may call.
import type { components } from '../api/schema';

type Model = components['schemas']['ModelRead'];
type Kind = Model['kind'];

export interface SnippetModel {
  name: string;
  kind: Kind;
}

export interface Snippet {
  id: 'curl' | 'python' | 'langchain';
  title: string;
  language: string;
  code: string;
}

/** A placeholder the caller replaces when no model the key may call is registered yet. */
export const NO_MODEL = 'MODEL_NAME';

const KIND_ORDER: Kind[] = ['chat', 'completion', 'embedding'];

/**
 * The model the snippets call: among the key's models (or the whole catalog for an all-models key),
 * an active chat model first, then a completion, then an embedding model.
 */
export function snippetModel(keyModels: string[] | null, catalog: Model[]): SnippetModel | null {
  const usable = catalog.filter((model) => model.status !== 'disabled' && (keyModels === null || keyModels.includes(model.name)));
  for (const kind of KIND_ORDER) {
    const found = usable.find((model) => model.kind === kind);
    if (found) return { name: found.name, kind: found.kind };
  }
  const named = keyModels?.[0];
  return named ? { name: named, kind: 'chat' } : null;
}

const py = (value: string) => JSON.stringify(value);

function curl(baseUrl: string, key: string, model: string, kind: Kind): string {
  const [path, payload] =
    kind === 'embedding'
      ? ['embeddings', { model, input: 'Hello' }]
      : kind === 'completion'
        ? ['completions', { model, prompt: 'Hello', max_tokens: 64 }]
        : ['chat/completions', { model, messages: [{ role: 'user', content: 'Hello' }] }];
  return [
    `curl ${baseUrl}/${path} \\`,
    `  -H "Authorization: Bearer ${key}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '${JSON.stringify(payload)}'`,
  ].join('\n');
}

function python(baseUrl: string, key: string, model: string, kind: Kind): string {
  const head = ['from openai import OpenAI', '', `client = OpenAI(base_url=${py(baseUrl)}, api_key=${py(key)})`, ''];
  if (kind === 'embedding') {
    return [...head, `result = client.embeddings.create(model=${py(model)}, input="Hello")`, 'print(len(result.data[0].embedding))'].join('\n');
  }
  if (kind === 'completion') {
    return [...head, `result = client.completions.create(model=${py(model)}, prompt="Hello", max_tokens=64)`, 'print(result.choices[0].text)'].join('\n');
  }
  return [
    ...head,
    'result = client.chat.completions.create(',
    `    model=${py(model)},`,
    '    messages=[{"role": "user", "content": "Hello"}],',
    ')',
    'print(result.choices[0].message.content)',
  ].join('\n');
}

function langchain(baseUrl: string, key: string, model: string, kind: Kind): string {
  const args = `base_url=${py(baseUrl)}, api_key=${py(key)}, model=${py(model)}`;
  if (kind === 'embedding') {
    return ['from langchain_openai import OpenAIEmbeddings', '', `embeddings = OpenAIEmbeddings(${args})`, 'print(len(embeddings.embed_query("Hello")))'].join('\n');
  }
  if (kind === 'completion') {
    return ['from langchain_openai import OpenAI', '', `llm = OpenAI(${args})`, 'print(llm.invoke("Hello"))'].join('\n');
  }
  return ['from langchain_openai import ChatOpenAI', '', `llm = ChatOpenAI(${args})`, 'print(llm.invoke("Hello").content)'].join('\n');
}

export function snippets(baseUrl: string, key: string, model: SnippetModel | null): Snippet[] {
  const name = model?.name ?? NO_MODEL;
  const kind = model?.kind ?? 'chat';
  return [
    { id: 'curl', title: 'curl', language: 'bash', code: curl(baseUrl, key, name, kind) },
    { id: 'python', title: 'Python (openai)', language: 'python', code: python(baseUrl, key, name, kind) },
    { id: 'langchain', title: 'LangChain', language: 'python', code: langchain(baseUrl, key, name, kind) },
  ];
}
