// Smart number assignment and contact cards through the official @linqapp/sdk, unmodified.
//
// The Python side (tests/contract/test_node_sdk_surface.py) starts the server and makes partner A with
// lines A and B (both HEALTHY and unused), and partner B with none.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import LinqAPIV3, {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from '@linqapp/sdk';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run this through the pytest contract tests`);
  }
  return value;
}

const baseURL = requireEnv('LINQ_API_V3_BASE_URL');
const partnerA = new LinqAPIV3({ apiKey: requireEnv('PARTNER_A_KEY'), baseURL, maxRetries: 0 });
const partnerB = new LinqAPIV3({ apiKey: requireEnv('PARTNER_B_KEY'), baseURL, maxRetries: 0 });
const LINE_A = requireEnv('LINE_A_NUMBER');
const LINE_B = requireEnv('LINE_B_NUMBER');

async function apiError(promise, ErrorClass) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error?.constructor?.name}`);
    return error;
  }
  assert.fail(`expected ${ErrorClass.name}, but the request succeeded`);
}

test('available_number cycles through equal lines and links a vCard', async () => {
  const first = await partnerA.availableNumber.retrieve();
  const second = await partnerA.availableNumber.retrieve();
  assert.deepEqual(new Set([first.phone_number, second.phone_number]), new Set([LINE_A, LINE_B]));
  const vcard = await fetch(second.vcf_url);
  assert.equal(vcard.status, 200);
  const text = await vcard.text();
  assert.match(text, /^BEGIN:VCARD/);
  assert.ok(text.indexOf(second.phone_number) < text.indexOf(first.phone_number));
});

test('available_number takes exclude_from and type', async () => {
  const picked = await partnerA.availableNumber.retrieve({ exclude_from: [LINE_A], type: 'iMessage' });
  assert.equal(picked.phone_number, LINE_B);
  const loose = await apiError(partnerA.availableNumber.retrieve({ exclude_from: ['2025550101'] }), BadRequestError);
  assert.equal(loose.error.error.code, 1002);
  const all = await apiError(partnerA.availableNumber.retrieve({ exclude_from: [LINE_A, LINE_B] }), BadRequestError);
  assert.equal(all.error.error.code, 1005);
});

test('a contact card is created once, updated, listed, and private to its partner', async () => {
  const created = await partnerA.contactCard.create({ first_name: 'Acme', phone_number: LINE_A });
  assert.equal(created.is_active, true);
  const again = await apiError(partnerA.contactCard.create({ first_name: 'X', phone_number: LINE_A }), ConflictError);
  assert.equal(again.error.error.code, 2014);
  const updated = await partnerA.contactCard.update({ phone_number: LINE_A, last_name: 'Inc' });
  assert.deepEqual([updated.first_name, updated.last_name], ['Acme', 'Inc']);
  const listed = await partnerA.contactCard.retrieve();
  assert.deepEqual(listed.contact_cards.map((card) => card.phone_number), [LINE_A]);
  assert.deepEqual((await partnerB.contactCard.retrieve()).contact_cards, []);
  await apiError(partnerB.contactCard.update({ phone_number: LINE_A, first_name: 'Mine' }), PermissionDeniedError);
  // Linq's budget: POST and PATCH share 3 writes per number every 10 minutes (the 409 above spent none).
  await partnerA.contactCard.update({ phone_number: LINE_A, first_name: 'Acme Co' });
  const limited = await apiError(partnerA.contactCard.update({ phone_number: LINE_A, last_name: 'X' }), RateLimitError);
  assert.equal(limited.error.error.code, 1007);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
});

test('blocked handles: block, list, guard (403 / 2026) and unblock (the SDK has no resource: its raw methods)', async () => {
  const handle = '+12025550177';
  const blocked = await partnerA.post('/v3/blocked_handles', { body: { handle, reason: 'test' } });
  assert.equal(blocked.blocked_handle.handle, handle);
  const listed = await partnerA.get('/v3/blocked_handles');
  assert.deepEqual(listed.blocked_handles.map((entry) => entry.handle), [handle]);
  const refused = await apiError(
    partnerA.chats.create({ from: LINE_A, to: [handle], message: { parts: [{ type: 'text', value: 'Hi' }] } }),
    PermissionDeniedError,
  );
  assert.equal(refused.error.error.code, 2026);
  await partnerA.delete('/v3/blocked_handles', { body: { handle } });
  assert.deepEqual((await partnerA.get('/v3/blocked_handles')).blocked_handles, []);
});

test('capability checks are answered by the transport', async () => {
  const yes = await partnerA.capability.checkIMessage({ address: requireEnv('IMESSAGE_NUMBER') });
  assert.deepEqual([yes.available, yes.selected_service], [true, 'iMessage']);
  const no = await partnerA.capability.checkRCS({ address: requireEnv('NO_RCS_NUMBER'), from: LINE_A });
  assert.deepEqual([no.available, no.reason, no.selected_service], [false, 'not_supported', 'SMS']);
  await apiError(partnerA.capability.checkRCS({ address: 'someone@example.com' }), BadRequestError);
});

test('an attachment is declared, uploaded to its URL with the required headers, read and deleted', async () => {
  const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1000, 1)]);
  const created = await partnerA.attachments.create({
    filename: 'photo.jpg',
    content_type: 'image/jpeg',
    size_bytes: bytes.length,
  });
  assert.equal(created.http_method, 'PUT');
  const put = await fetch(created.upload_url, { method: 'PUT', body: bytes, headers: created.required_headers });
  assert.equal(put.status, 200);
  const state = await partnerA.attachments.retrieve(created.attachment_id);
  assert.deepEqual([state.status, state.size_bytes, state.content_type], ['complete', bytes.length, 'image/jpeg']);
  const refused = await apiError(
    partnerA.attachments.create({ filename: 'a.webp', content_type: 'image/webp', size_bytes: 10 }),
    BadRequestError,
  );
  assert.equal(refused.error.error.code, 5004);
  await partnerA.attachments.delete(created.attachment_id);
  await apiError(partnerA.attachments.retrieve(created.attachment_id), NotFoundError);
});

test('chat and message operations: typing, read, group name, edit, reactions, thread, delete, leave', async () => {
  const text = (value, extra = {}) => ({ parts: [{ type: 'text', value }], ...extra });
  const { chat } = await partnerA.chats.create({ from: LINE_A, to: ['+12025550161'], message: text('Helo') });
  await partnerA.chats.typing.start(chat.id);
  await partnerA.chats.typing.stop(chat.id);
  await partnerA.chats.markAsRead(chat.id);
  const edited = await partnerA.messages.update(chat.message.id, { text: 'Hello' });
  assert.equal(edited.parts[0].value, 'Hello');
  await partnerA.messages.addReaction(chat.message.id, { operation: 'add', type: 'like' });
  const reacted = await partnerA.messages.retrieve(chat.message.id);
  assert.deepEqual(reacted.parts[0].reactions.map((r) => [r.type, r.is_me]), [['like', true]]);
  const reply = await partnerA.chats.messages.send(chat.id, {
    message: text('Re', { reply_to: { message_id: chat.message.id, part_index: 0 } }),
  });
  const thread = [];
  for await (const message of partnerA.messages.listMessagesThread(reply.message.id)) thread.push(message.id);
  assert.deepEqual(thread, [chat.message.id, reply.message.id]);
  await partnerA.messages.delete(reply.message.id);
  await apiError(partnerA.messages.retrieve(reply.message.id), NotFoundError);

  const group = (await partnerA.chats.create({
    from: LINE_A, to: ['+12025550162', '+12025550163'], message: text('Hi all'),
  })).chat;
  const renamed = await partnerA.chats.update(group.id, { display_name: 'Team' });
  assert.equal(renamed.chat_id, group.id);
  assert.equal((await partnerA.chats.retrieve(group.id)).display_name, 'Team');
  const added = await partnerA.chats.participants.add(group.id, { handle: '+12025550164' });
  assert.equal(added.status, 'added');
  const removed = await partnerA.chats.participants.remove(group.id, { handle: '+12025550164' });
  assert.equal(removed.status, 'removed');
  const left = await partnerA.chats.leaveChat(group.id);
  assert.equal(left.status, 'left');
});

test('messages and chats: create, list, voice memo by attachment, share the contact card', async () => {
  const text = (value) => ({ parts: [{ type: 'text', value }] });
  const created = await partnerA.messages.create({ to: ['+12025550171'], message: text('Hello') });
  const chatId = created.chat_id;
  assert.equal(created.created_new_chat, true);
  const listed = [];
  for await (const chat of partnerA.chats.listChats({ to: '+12025550171' })) listed.push(chat.id);
  assert.deepEqual(listed, [chatId]);
  const sent = await partnerA.chats.messages.send(chatId, { message: text('Second') });
  const messages = await partnerA.chats.messages.list(chatId);
  assert.deepEqual(messages.messages.map((m) => m.id).sort(), [created.message.id, sent.message.id].sort());

  const audio = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(500, 1)]);
  const upload = await partnerA.attachments.create({ filename: 'memo.m4a', content_type: 'audio/x-m4a', size_bytes: audio.length });
  assert.equal((await fetch(upload.upload_url, { method: 'PUT', body: audio, headers: upload.required_headers })).status, 200);
  const memo = await partnerA.chats.sendVoicememo(chatId, { attachment_id: upload.attachment_id });
  assert.equal(memo.voice_memo.chat.id, chatId);
  assert.deepEqual([memo.voice_memo.voice_memo.mime_type, memo.voice_memo.voice_memo.size_bytes], ['audio/x-m4a', audio.length]);

  // The line the message was sent from needs a card (LINE_A's came from the test above).
  if (created.from !== LINE_A) await partnerA.contactCard.create({ first_name: 'Acme', phone_number: created.from });
  await partnerA.chats.shareContactCard(chatId);
  await apiError(partnerB.chats.shareContactCard(chatId), NotFoundError);
});
