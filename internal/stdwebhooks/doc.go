// Package stdwebhooks is the gateway's one implementation of the Standard
// Webhooks signature (https://www.standardwebhooks.com): the secret format,
// the signed content "<webhook-id>.<webhook-timestamp>.<body>" and the
// "v1," (HMAC-SHA256) and "v1a," (Ed25519) signatures. The adapters sign
// what the gateway pushes to vendors with it, and gateway/partnerauth
// verifies what partners send with it, so both sides read a secret the same
// way.
//
// A secret is "whsec_" followed by the base64 of the key, as the
// specification writes it; the prefix may be left out. Anything else (a raw
// password, text that is not base64) is refused with ErrSecret rather than
// used as raw bytes: a vendor's verifier built on the specification decodes
// the base64, so signing with the raw bytes of the same string would produce
// signatures it never accepts.
package stdwebhooks
