package readers

import (
	"github.com/equus/sogateway/mail"
	"github.com/equus/sogateway/mappings"
	"github.com/equus/sogateway/soap"
)

// Production returns the readers the SOAP service and the mail intake use:
// soap.ReadInput for SOAP envelopes and mail.ReadInput for raw mail.
func Production() mappings.Readers {
	return mappings.Readers{SOAP: soap.ReadInput, Mail: mail.ReadInput}
}
