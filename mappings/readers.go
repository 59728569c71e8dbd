package mappings

import (
	"errors"
	"fmt"

	"github.com/equus/sogateway/internal/model"
)

// Reader turns one raw protocol message (a SOAP envelope, an RFC 5322 mail)
// into the Input its protocol layer hands to the inbound path for the
// partner whose mapping is m, as production reads it. The soap and mail
// packages provide them (soap.ReadInput, mail.ReadInput); this package may
// not import those, so the fixtures, the CLI and the playground are given
// them (see Readers).
type Reader func(m *Mapping, raw []byte) (Input, error)

// Readers are the production readers of the raw message formats fixtures
// and `mappings translate` accept besides JSON: .input.xml fixtures and
// XML on stdin go through SOAP, .input.eml fixtures and raw mail through
// Mail. A nil Reader refuses its format with ErrNoReader.
type Readers struct {
	// SOAP reads a SOAP 1.1 or 1.2 envelope as the SOAP service does.
	SOAP Reader
	// Mail reads a raw mail as the mail intake does.
	Mail Reader
}

// ErrNoReader is returned (wrapped) for a SOAP envelope or a mail when the
// caller gave no Reader for it.
var ErrNoReader = errors.New("no reader for this format")

func (rd Readers) soap(m *Mapping, raw []byte) (Input, error) {
	if rd.SOAP == nil {
		return Input{}, fmt.Errorf("mappings: SOAP envelope: %w", ErrNoReader)
	}
	return rd.SOAP(m, raw)
}

func (rd Readers) mail(m *Mapping, raw []byte) (Input, error) {
	if rd.Mail == nil {
		return Input{}, fmt.Errorf("mappings: mail: %w", ErrNoReader)
	}
	return rd.Mail(m, raw)
}

// ReadError is a message its protocol's reader refuses before any rule
// runs: the mail intake quarantines such a mail, the SOAP service answers
// it with a fault. Fixtures and the CLI show it as an error of kind
// "unreadable" naming Reason.
type ReadError struct {
	// Reason is the reader's name for the refusal: a quarantine reason
	// (no_tag, bad_mime, ...) or a SOAP fault reason (InvalidParameter, ...).
	Reason string
	// Msg says what is wrong with the message, in the partner's terms.
	Msg string
	// Err is the cause, for the log.
	Err error
}

// Error returns "Reason: Msg".
func (e *ReadError) Error() string { return e.Reason + ": " + e.Msg }

// Unwrap returns the cause and model.ErrInvalid.
func (e *ReadError) Unwrap() []error { return []error{e.Err, model.ErrInvalid} }
