package soap

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Character encodings the handler reads. Legacy clients (VB6, classic ASP,
// Delphi, old Java stacks) declare ISO-8859-1 or US-ASCII in the XML
// declaration or the Content-Type charset; the body is turned into UTF-8
// before it is parsed, so Call.Raw is always UTF-8.
const (
	encUTF8   = "utf-8"
	encASCII  = "us-ascii"
	encLatin1 = "iso-8859-1"
)

// encodingOf returns the canonical name of a charset label the handler
// reads, or "" when it does not read it (IANA names and common aliases).
func encodingOf(label string) string {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8":
		return encUTF8
	case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "csascii":
		return encASCII
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819", "csisolatin1":
		return encLatin1
	}
	return ""
}

// xmlEncodingDecl finds the encoding pseudo-attribute of an XML declaration.
var xmlEncodingDecl = regexp.MustCompile(`^<\?xml[ \t\r\n][^?>]*?encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z0-9._:-]{1,40})["']`)

// mediaTypeFault answers an encoding the handler does not read with 415.
func mediaTypeFault(text string) *Fault {
	return &Fault{Code: CodeClient, Reason: ReasonMediaType, Status: http.StatusUnsupportedMediaType, Text: text}
}

// toUTF8 returns body as UTF-8. charset is the Content-Type's charset
// parameter (already checked by encodingOf), which wins over the XML
// declaration as RFC 7303 says; without one the declaration decides, and
// without that UTF-8. A UTF-8 byte order mark is dropped. UTF-16 (a UTF-16
// byte order mark, or "<" encoded in two bytes) and declared encodings the
// handler does not read answer UnsupportedMediaType.
func toUTF8(body []byte, charset string) ([]byte, *Fault) {
	// .NET clients may start the body with a UTF-8 byte order mark.
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(body) >= 2 && (body[0] == 0xfe && body[1] == 0xff || body[0] == 0xff && body[1] == 0xfe ||
		body[0] == 0 && body[1] == '<' || body[0] == '<' && body[1] == 0) {
		return nil, mediaTypeFault("the body is UTF-16, which this service does not read: send utf-8 (or iso-8859-1, us-ascii)")
	}
	enc := charset
	if enc == "" {
		enc = encUTF8
		if m := xmlEncodingDecl.FindSubmatch(body[:min(len(body), 512)]); m != nil {
			if enc = encodingOf(string(m[1])); enc == "" {
				return nil, mediaTypeFault(fmt.Sprintf("the XML declaration's encoding %q is not supported: send utf-8 (or iso-8859-1, us-ascii)", m[1]))
			}
		}
	}
	switch enc {
	case encLatin1:
		n := 0
		for _, c := range body {
			if c >= 0x80 {
				n++
			}
		}
		if n == 0 {
			return body, nil
		}
		out := make([]byte, 0, len(body)+n)
		for _, c := range body {
			out = utf8.AppendRune(out, rune(c))
		}
		return out, nil
	case encASCII:
		for i, c := range body {
			if c >= 0x80 {
				return nil, &Fault{Code: CodeClient, Reason: ReasonMalformed, Err: ErrMalformed,
					Text: fmt.Sprintf("the body is declared us-ascii but byte 0x%02X at offset %d is not ASCII", c, i)}
			}
		}
	}
	return body, nil
}

// identityCharsetReader lets encoding/xml accept the declaration of a body
// toUTF8 has already turned into UTF-8.
func identityCharsetReader(label string, r io.Reader) (io.Reader, error) {
	if encodingOf(label) == "" {
		return nil, fmt.Errorf("encoding %q is not supported", label)
	}
	return r, nil
}
