// Drives the engine simulator with the official OpenAI JavaScript SDK, as a
// user of vLLM would, and fails (exit 1) at the first answer the SDK cannot
// use or that differs from what vLLM returns. Run by TestE2EOpenAISDK:
//   NODE_PATH=<node_modules with openai> GEN_URL=... EMB_URL=... ASR_URL=... \
//   ASR_CLIP=<a wav file> ASR_TEXT=<its transcript> node conformance.cjs
const assert = require('node:assert/strict');
const OpenAI = require('openai');

const client = (url) => new OpenAI({ baseURL: url + '/v1', apiKey: 'EMPTY', maxRetries: 0, timeout: 60000 });
const ok = (what) => console.log('ok ' + what);

async function models(c, want) {
  const list = await c.models.list();
  const ids = list.data.map((m) => m.id);
  assert.deepEqual(ids, [want]);
  assert.equal(list.data[0].object, 'model');
  assert.equal(list.data[0].owned_by, 'vllm');
  ok('models.list ' + want);
}

async function generation(url) {
  const c = client(url);
  const model = (await c.models.list()).data[0].id;
  await models(c, model);

  const chat = await c.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 5,
  });
  assert.match(chat.id, /^chatcmpl-/);
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.ok(chat.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
  assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);
  ok('chat.completions.create');

  const stream = await c.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Count.' }], max_tokens: 6, stream: true,
    stream_options: { include_usage: true }, ignore_eos: true,
  });
  let text = '', role = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      if (ch.delta.role) role = ch.delta.role;
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 6);
  assert.equal(text.trim().split(/\s+/).length, 6);
  ok('chat.completions.create stream (' + chunks + ' chunks)');

  const cmpl = await c.completions.create({ model, prompt: 'Once upon a time', max_tokens: 4, ignore_eos: true });
  assert.match(cmpl.id, /^cmpl-/);
  assert.equal(cmpl.object, 'text_completion');
  assert.equal(cmpl.choices[0].finish_reason, 'length');
  assert.equal(cmpl.usage.completion_tokens, 4);
  ok('completions.create');

  const cstream = await c.completions.create({ model, prompt: 'Once', max_tokens: 3, ignore_eos: true, stream: true });
  let pieces = 0, cfinish = null;
  for await (const chunk of cstream) {
    pieces += chunk.choices.length;
    for (const ch of chunk.choices) if (ch.finish_reason) cfinish = ch.finish_reason;
  }
  assert.equal(pieces, 3);
  assert.equal(cfinish, 'length');
  ok('completions.create stream');

  await assert.rejects(
    c.chat.completions.create({ model: 'no/such-model', messages: [{ role: 'user', content: 'x' }] }),
    (err) => err instanceof OpenAI.NotFoundError && err.status === 404 && /does not exist/.test(err.message));
  ok('unknown model: NotFoundError');
  await assert.rejects(
    c.completions.create({ model, prompt: 'x', max_tokens: 10000000 }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400 && /maximum context length/.test(err.message));
  ok('context overflow: BadRequestError');
}

async function embeddings(url) {
  const c = client(url);
  const model = (await c.models.list()).data[0].id;
  await models(c, model);
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  // The SDK's default asks for base64 and decodes it into floats.
  const b64 = await c.embeddings.create({ model, input: 'the quick brown fox' });
  assert.equal(b64.object, 'list');
  assert.equal(b64.data.length, 1);
  const v = b64.data[0].embedding;
  assert.ok(Array.isArray(v) && v.length === 384, 'decoded base64 embedding of 384 floats');
  assert.ok(Math.abs(norm(v) - 1) < 1e-4);
  assert.ok(b64.usage.prompt_tokens > 0);
  ok('embeddings.create (SDK default: base64)');

  const flt = await c.embeddings.create({ model, input: ['the quick brown fox', 'jumps'], encoding_format: 'float' });
  assert.equal(flt.data.length, 2);
  assert.deepEqual(flt.data.map((d) => d.index), [0, 1]);
  flt.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - v[i]) < 1e-6, 'float and base64 agree at ' + i));
  ok('embeddings.create encoding_format float');

  await assert.rejects(
    c.embeddings.create({ model, input: 'x', dimensions: 64 }),
    (err) => err instanceof OpenAI.BadRequestError && /matryoshka/.test(err.message));
  ok('dimensions on a non-matryoshka model: BadRequestError');
}

async function transcriptions(url, clip, reference) {
  const c = client(url);
  const model = (await c.models.list()).data[0].id;
  await models(c, model);
  const fs = require('node:fs');
  const words = (s) => s.toLowerCase().replace(/[^a-z0-9' ]/g, ' ').split(/\s+/).filter(Boolean);

  const tr = await c.audio.transcriptions.create({ file: fs.createReadStream(clip), model, language: 'en', response_format: 'json' });
  assert.equal(typeof tr.text, 'string');
  assert.deepEqual(words(tr.text), words(reference), 'transcript of the clip');
  assert.equal(tr.usage.type, 'duration');
  assert.ok(tr.usage.seconds >= 1);
  ok('audio.transcriptions.create');

  const stream = await c.audio.transcriptions.create({
    file: await OpenAI.toFile(fs.readFileSync(clip), 'clip.wav'), model, stream: true, stream_include_usage: true,
  });
  let text = '', finish = null, usage = null;
  for await (const ev of stream) {
    assert.equal(ev.object, 'transcription.chunk');
    if (ev.usage) usage = ev.usage;
    for (const ch of ev.choices) {
      text += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.deepEqual(words(text), words(reference), 'streamed transcript');
  assert.equal(finish, 'stop');
  assert.ok(usage.completion_tokens > words(reference).length);
  ok('audio.transcriptions.create stream');

  await assert.rejects(
    c.audio.transcriptions.create({ file: await OpenAI.toFile(Buffer.from('not audio'), 'x.wav'), model }),
    (err) => err instanceof OpenAI.BadRequestError && /Invalid or unsupported audio file/.test(err.message));
  ok('not audio: BadRequestError');
}

(async () => {
  await generation(process.env.GEN_URL);
  await embeddings(process.env.EMB_URL);
  await transcriptions(process.env.ASR_URL, process.env.ASR_CLIP, process.env.ASR_TEXT);
})().catch((err) => {
  console.error('FAIL', err && err.stack ? err.stack : err);
  process.exit(1);
});
