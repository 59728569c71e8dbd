package testutil

import (
	"testing"
	"time"

	"github.com/equus/sogateway/internal/stdwebhooks"
)

// HooksMapping is a partner mapping, "hooks", that authenticates with
// Standard Webhooks (no shipped partner uses the scheme yet) under the
// secret in HOOKS_SECRET, and adds a note to an existing order at
// POST /partners/hooks/orders/{id}/notes {"text": …}.
const HooksMapping = `partner: hooks
description: A Standard Webhooks sender (tests).
protocols: [rest]
auth: {kind: standard-webhooks, secret_env: HOOKS_SECRET}
routes:
  - {name: notes, method: POST, path: /orders/:id/notes, kinds: [note]}
inbound:
  - kind: note
    event: order.message
    require: {exists: true}
    rules:
      - {to: target.order_id, from: $params.id, required: true}
      - {to: message, from: text, type: string, required: true}
`

// HooksSecret is the Standard Webhooks specification's example secret.
const HooksSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// WebhookSignature returns the webhook-signature header value ("v1,…") of
// body sent with id at ts under the whsec_ secret, as a sender computes it.
func WebhookSignature(t testing.TB, secret, id string, ts time.Time, body []byte) string {
	t.Helper()
	key, err := stdwebhooks.ParseSecret(secret)
	Must(t, err)
	return stdwebhooks.Sign(key, id, ts.Unix(), body)
}
