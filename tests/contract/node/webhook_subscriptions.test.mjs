// Webhook subscriptions and event verification through the official @linqapp/sdk, unmodified.
//
// The Python side (tests/contract/test_node_sdk_webhooks.py) starts the server, makes partners A and B
// and, when it has one, passes in a real delivery (body, headers, secret) for the SDK to unwrap.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import LinqAPIV3, { BadRequestError, NotFoundError } from '@linqapp/sdk';

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

async function apiError(promise, ErrorClass) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error?.constructor?.name}`);
    return error;
  }
  assert.fail(`expected ${ErrorClass.name}, but the request succeeded`);
}

test('a subscription is created with its secret once, read, updated and deleted', async () => {
  const target = `https://hooks.example.com/node-${Date.now()}`;
  const created = await partnerA.webhookSubscriptions.create({
    target_url: target,
    subscribed_events: ['phone_number.status_updated'],
    phone_numbers: ['+12025550101'],
  });
  assert.match(created.signing_secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(created.is_active, true);
  assert.deepEqual(created.phone_numbers, ['+12025550101']);

  const listed = await partnerA.webhookSubscriptions.list();
  const mine = listed.subscriptions.find((s) => s.id === created.id);
  assert.equal(mine.target_url, target);
  assert.equal('signing_secret' in mine, false);

  const updated = await partnerA.webhookSubscriptions.update(created.id, {
    is_active: false,
    phone_numbers: null,
  });
  assert.equal(updated.is_active, false);
  assert.equal(updated.phone_numbers ?? null, null);

  await partnerA.webhookSubscriptions.delete(created.id);
  await apiError(partnerA.webhookSubscriptions.retrieve(created.id), NotFoundError);
});

test("another partner's subscription is 404 and bad input is 400 in the Linq envelope", async () => {
  const created = await partnerA.webhookSubscriptions.create({
    target_url: `https://hooks.example.com/private-${Date.now()}`,
    subscribed_events: ['phone_number.assigned'],
  });
  await apiError(partnerB.webhookSubscriptions.retrieve(created.id), NotFoundError);
  await apiError(partnerB.webhookSubscriptions.delete(created.id), NotFoundError);

  const error = await apiError(
    partnerA.webhookSubscriptions.create({
      target_url: 'https://hooks.example.com/x',
      subscribed_events: ['phone_number.exploded'],
    }),
    BadRequestError,
  );
  assert.equal(error.error.success, false);
  assert.equal(error.error.error.status, 400);
});

test('the event catalogue lists the phone number and subscription events', async () => {
  const listed = await partnerA.webhookEvents.list();
  for (const type of [
    'phone_number.status_updated',
    'phone_number.assigned',
    'phone_number.released',
    'phone_number.forwarding_updated',
    'webhook_subscription.created',
    'webhook_subscription.deleted',
    'webhook_subscription.target_url_changed',
    'webhook_subscription.enabled',
    'webhook_subscription.disabled',
    'webhook_subscription.events.updated',
    'webhook_subscription.phone_numbers.updated',
    'webhook_subscription.routing_headers_set',
    'webhook_subscription.routing_headers_cleared',
  ]) {
    assert.ok(listed.events.includes(type), type);
  }
});

test('a real delivery unwraps with the signing secret, and not with another', async (t) => {
  if (!process.env.DELIVERY_BODY) {
    t.skip('no delivery captured by the runner');
    return;
  }
  const body = process.env.DELIVERY_BODY;
  const headers = JSON.parse(requireEnv('DELIVERY_HEADERS'));
  const secret = requireEnv('DELIVERY_SECRET');

  const event = partnerA.webhooks.unwrap(body, { headers, key: secret });
  assert.equal(event.event_type, 'phone_number.status_updated');
  assert.equal(event.event_id, headers['webhook-id']);
  assert.equal(event.data.new_status, 'FLAGGED');

  const forged = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
  assert.throws(() => partnerA.webhooks.unwrap(body, { headers, key: forged }));
});

test('a webhook_subscription.created delivery unwraps as an account event', async (t) => {
  if (!process.env.ACCOUNT_DELIVERY_BODY) {
    t.skip('no account delivery captured by the runner');
    return;
  }
  const body = process.env.ACCOUNT_DELIVERY_BODY;
  const headers = JSON.parse(requireEnv('ACCOUNT_DELIVERY_HEADERS'));
  const secret = requireEnv('ACCOUNT_DELIVERY_SECRET');

  const event = partnerA.webhooks.unwrap(body, { headers, key: secret });
  assert.equal(event.event_type, 'webhook_subscription.created');
  assert.equal(event.event_id, headers['webhook-id']);
  assert.equal(event.data.webhook_subscription.id, requireEnv('ACCOUNT_SUBSCRIPTION_ID'));
  assert.deepEqual(event.data.webhook_subscription.events, ['webhook_subscription.created']);
  assert.deepEqual(event.data.actor, { type: 'api' });
  assert.equal(event.data.origin, 'api');
  assert.equal(typeof event.data.summary, 'string');
  assert.ok(!Number.isNaN(Date.parse(event.data.occurred_at)));
  assert.equal('phone_number' in event.data, false);

  const forged = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
  assert.throws(() => partnerA.webhooks.unwrap(body, { headers, key: forged }));
});
