// The partner phone-numbers API, driven through the official @linqapp/sdk, unmodified.
//
// tests/contract/test_node_sdk.py starts the server, builds the state (partners A and B, one line
// assigned to A) and passes it in through the environment; only the base URL points the SDK at us.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import LinqAPIV3, {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
} from '@linqapp/sdk';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; run this through tests/contract/test_node_sdk.py`);
  }
  return value;
}

const baseURL = requireEnv('LINQ_API_V3_BASE_URL');
const partnerAKey = requireEnv('PARTNER_A_KEY');
const partnerBKey = requireEnv('PARTNER_B_KEY');
const lineAId = requireEnv('LINE_A_ID');
const lineANumber = requireEnv('LINE_A_NUMBER');

const E164 = /^\+[1-9]\d{1,14}$/;
const FORWARD_TO = '+14155550199';

function client(apiKey) {
  // No retries: a contract failure should surface as the first response, not be retried away.
  return new LinqAPIV3({ apiKey, baseURL, maxRetries: 0 });
}

const partnerA = client(partnerAKey);
const partnerB = client(partnerBKey);

// Resolves to the SDK's error so the caller can check the Linq envelope it carries.
async function apiError(promise, ErrorClass) {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof ErrorClass,
      `expected ${ErrorClass.name}, got ${error?.constructor?.name}: ${error?.message}`,
    );
    return error;
  }
  assert.fail(`expected ${ErrorClass.name}, but the request succeeded`);
}

function assertEnvelope(error, status, code) {
  assert.equal(error.status, status);
  // `error.error` is the whole JSON body the SDK received.
  const body = error.error;
  assert.equal(body.success, false);
  assert.equal(body.error.status, status);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.equal(typeof body.error.doc_url, 'string');
  assert.equal(typeof body.trace_id, 'string');
}

async function lineOfA() {
  const listing = await partnerA.phoneNumbers.list();
  const line = listing.phone_numbers.find((entry) => entry.id === lineAId);
  assert.ok(line, `line ${lineAId} missing from partner A's list: ${JSON.stringify(listing)}`);
  return line;
}

test("phoneNumbers.list returns the partner's line in the Linq shape", async () => {
  const listing = await partnerA.phoneNumbers.list();

  assert.ok(Array.isArray(listing.phone_numbers));
  assert.equal(listing.phone_numbers.length, 1);
  const [line] = listing.phone_numbers;
  assert.equal(line.id, lineAId);
  assert.equal(line.phone_number, lineANumber);
  assert.match(line.phone_number, E164);
  assert.equal(line.reputation.status, 'HEALTHY');
  assert.equal(typeof line.reputation.doc_url, 'string');
  assert.doesNotThrow(() => new URL(line.reputation.doc_url), `not a URL: ${line.reputation.doc_url}`);
  assert.equal(line.forwarding_number, null);
  // Fields beyond what this SDK version models still arrive on the wire.
  assert.equal(line.status, 'ACTIVE');
  assert.deepEqual(line.health_status, line.reputation);
});

test('phoneNumbers.update sets the forwarding number, and null or "" clears it', async () => {
  const set = await partnerA.phoneNumbers.update(lineAId, { forwarding_number: FORWARD_TO });
  assert.deepEqual(set, { id: lineAId, phone_number: lineANumber, forwarding_number: FORWARD_TO });
  assert.equal((await lineOfA()).forwarding_number, FORWARD_TO);

  const cleared = await partnerA.phoneNumbers.update(lineAId, { forwarding_number: null });
  assert.deepEqual(cleared, { id: lineAId, phone_number: lineANumber, forwarding_number: null });
  assert.equal((await lineOfA()).forwarding_number, null);

  // The SDK documents the empty string as the other way to clear.
  await partnerA.phoneNumbers.update(lineAId, { forwarding_number: FORWARD_TO });
  const emptied = await partnerA.phoneNumbers.update(lineAId, { forwarding_number: '' });
  assert.equal(emptied.forwarding_number, null);
  assert.equal((await lineOfA()).forwarding_number, null);
});

test('the deprecated phonenumbers.list returns the line with its capabilities', async () => {
  const listing = await partnerA.phonenumbers.list();

  assert.equal(listing.phone_numbers.length, 1);
  const [line] = listing.phone_numbers;
  assert.equal(line.id, lineAId);
  assert.equal(line.phone_number, lineANumber);
  assert.equal(line.type, null);
  assert.equal(line.country_code, null);
  for (const capability of ['sms', 'mms', 'voice']) {
    assert.equal(typeof line.capabilities[capability], 'boolean', `capabilities.${capability}`);
  }
});

test('a bad API key is AuthenticationError 401 with code 2004', async () => {
  const error = await apiError(client('not-a-real-key').phoneNumbers.list(), AuthenticationError);
  assertEnvelope(error, 401, 2004);
});

test("another partner's line is NotFoundError 404 with code 1005 and stays unchanged", async () => {
  await partnerA.phoneNumbers.update(lineAId, { forwarding_number: FORWARD_TO });

  const error = await apiError(
    partnerB.phoneNumbers.update(lineAId, { forwarding_number: '+14155550100' }),
    NotFoundError,
  );
  assertEnvelope(error, 404, 1005);
  assert.equal((await lineOfA()).forwarding_number, FORWARD_TO);

  await partnerA.phoneNumbers.update(lineAId, { forwarding_number: null });
});

test('an invalid forwarding number is BadRequestError 400 with code 1002 and changes nothing', async () => {
  await partnerA.phoneNumbers.update(lineAId, { forwarding_number: FORWARD_TO });

  const error = await apiError(
    partnerA.phoneNumbers.update(lineAId, { forwarding_number: 'not-a-number' }),
    BadRequestError,
  );
  assertEnvelope(error, 400, 1002);
  assert.equal((await lineOfA()).forwarding_number, FORWARD_TO);

  await partnerA.phoneNumbers.update(lineAId, { forwarding_number: null });
});

test("partner B's lists do not contain partner A's line", async () => {
  const current = await partnerB.phoneNumbers.list();
  const legacy = await partnerB.phonenumbers.list();

  for (const listing of [current, legacy]) {
    assert.ok(Array.isArray(listing.phone_numbers));
    const ids = listing.phone_numbers.map((line) => line.id);
    const numbers = listing.phone_numbers.map((line) => line.phone_number);
    assert.ok(!ids.includes(lineAId), `B sees A's line id: ${JSON.stringify(listing)}`);
    assert.ok(!numbers.includes(lineANumber), `B sees A's number: ${JSON.stringify(listing)}`);
  }
});
