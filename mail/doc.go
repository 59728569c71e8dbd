// Package mail reads partner mailboxes over IMAP and turns each mail into the
// JSON document a partner mapping translates into a canonical model.Inbound.
//
// Parse reads one RFC 5322 message within Limits, finds the task reference with
// the Rules' ordered Matchers, extracts [[Key]]: value tags and the new part of
// the text (quoted replies and signatures removed, HTML converted to text), and
// hashes the attachments. Intake runs the mailbox loop: IDLE when offered,
// polling otherwise, fetch with BODY.PEEK[], commit to the model.Sink, then move
// the mail to the Processed folder, or to Quarantine with a counted reason. The
// idempotency key is a digest of the message, so a crash between commit and
// move, a redelivery or a UIDVALIDITY change never applies a mail twice.
package mail
