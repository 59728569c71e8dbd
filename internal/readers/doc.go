// Package readers gives the mapping tools the production readers: the
// golden fixtures (`go test ./mappings/`, `gatewayd mappings test`), `gatewayd
// mappings translate` and the console's playground read a SOAP envelope
// with the soap package's envelope reader and a raw mail with the mail
// package's parser, exactly as the SOAP service and the mail intake do, so a
// green fixture means the same message is read the same way in production.
// The mappings package may not import soap or mail (they import it), hence
// this package.
package readers
