package mail

import "errors"

// Sentinel errors of the package. Parse and Intake wrap them; compare with
// errors.Is.
var (
	// ErrNoTag: no matcher found a task reference in the mail.
	ErrNoTag = errors.New("mail: no task reference")
	// ErrTooLarge: the mail is over one of the Limits (size, parts, depth,
	// header bytes, attachment count or size).
	ErrTooLarge = errors.New("mail: over limits")
	// ErrBadMIME: the message cannot be read as RFC 5322 / MIME.
	ErrBadMIME = errors.New("mail: unreadable MIME")
	// ErrTypeNotAllowed: an attachment's content type is not in Limits.AllowedTypes.
	ErrTypeNotAllowed = errors.New("mail: attachment type not allowed")
	// ErrAutoReply: the mail is an automatic reply or a delivery report
	// (out-of-office, vacation, bounce), not an answer from a person or a
	// ticket system; it is quarantined unless Rules.AcceptAutoReplies.
	ErrAutoReply = errors.New("mail: automatic reply")
	// ErrSenderNotAllowed: the From address is not in MailboxConfig.AllowedSenders.
	ErrSenderNotAllowed = errors.New("mail: sender not allowed")
	// ErrUntranslatable: the mapping's Translator rejected the mail document.
	ErrUntranslatable = errors.New("mail: mapping rejected the mail")
	// ErrConfig: a MailboxConfig or Rules value is invalid.
	ErrConfig = errors.New("mail: invalid config")
	// ErrMissingCredentials: the mailbox's address, user or password is not set;
	// the partner's mail intake is disabled.
	ErrMissingCredentials = errors.New("mail: missing credentials")
)
