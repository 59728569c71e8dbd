package inbound

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/equus/sogateway/internal/model"
)

// Key returns the idempotency key of item index of a message. It is the one
// place the gateway's idempotency rule is written down:
//
//   - When the partner gives the message an id (EMG Task Id, Standard
//     Webhooks webhook-id, WS-Addressing wsa:MessageID, mail Message-ID),
//     the key is that id. The Sink treats a repeated id as a duplicate for
//     as long as it remembers it: a retry gets the first answer and changes
//     nothing, whatever else differs.
//   - Otherwise the key is a SHA-256 digest of the decoded message body,
//     followed by scope (the REST route parameters, so the same text posted
//     to two orders is two messages). The Sink treats a repeated digest as a
//     duplicate only while the order is unchanged since the digest was
//     applied, so "late", "on time", "late" from a partner without message
//     ids applies three times.
//
// A repeated id with other content (see Digest) is not a retry but another
// message under a used id: the Sink refuses it (model.ErrConflict), so a
// sender's id bug does not silently drop a message.
//
// A split message (one body, many items) appends "#<index>" in both cases.
// The Sink scopes every key by partner.
func Key(messageID string, body []byte, scope string, index int, split bool) string {
	key := messageID
	if key == "" {
		sum := sha256.Sum256(body)
		key = "sha256:" + hex.EncodeToString(sum[:]) + scope
	}
	if split {
		key += "#" + strconv.Itoa(index)
	}
	return key
}

// Digest returns a digest of what in says: its kind, target, event, data and
// patch as the mapping translated them. It leaves out the envelope (a SOAP
// call's WS-Security nonce, an EMG signature, a mail's transport headers)
// and the mapping version, so a sender's retry of one message has the same
// Digest however it was wrapped, and another message has another.
func Digest(in *model.Inbound) string {
	b, err := json.Marshal(struct {
		Kind    string
		Target  model.Target
		Require model.Require
		Event   model.EventType
		Data    map[string]any
		Patch   model.Patch
	}{in.Kind, in.Target, in.Require, in.Event, in.Data, in.Patch})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
