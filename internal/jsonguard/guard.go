package jsonguard

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Defaults of Limits.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 32
)

// Limits bound a document. A nil *Limits is the zero value, which works.
type Limits struct {
	// MaxBytes caps the document's size; default DefaultMaxBytes (1 MiB).
	MaxBytes int64
	// MaxDepth caps the nesting of objects and arrays (the outermost one is
	// level 1); default DefaultMaxDepth (32).
	MaxDepth int
}

func (l *Limits) norm() Limits {
	var out Limits
	if l != nil {
		out = *l
	}
	if out.MaxBytes <= 0 {
		out.MaxBytes = DefaultMaxBytes
	}
	if out.MaxDepth <= 0 {
		out.MaxDepth = DefaultMaxDepth
	}
	return out
}

// Check checks a whole document under l.
func Check(b []byte, l *Limits) error {
	c := New(l)
	if _, err := c.Write(b); err != nil {
		return err
	}
	return c.Close()
}

// Read reads r to its end, checking as it goes, and returns the bytes read.
// It stops at the first broken rule: a document over the size limit is
// refused after at most MaxBytes+1 bytes have been read, so memory stays
// bounded. Errors from r are returned as they are (wrapped).
func Read(r io.Reader, l *Limits) ([]byte, error) {
	c := New(l)
	buf := make([]byte, 0, 4096)
	lr := io.LimitReader(r, c.lim.MaxBytes+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			if _, werr := c.Write(buf[len(buf) : len(buf)+n]); werr != nil {
				return nil, werr
			}
			buf = buf[:len(buf)+n]
		}
		if err == io.EOF {
			return buf, c.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("jsonguard: read: %w", err)
		}
	}
}

// states of the machine.
type state uint8

const (
	sValue    state = iota // a value is expected
	sArrFirst              // after '[': a value or ']'
	sObjFirst              // after '{': a key or '}'
	sObjKey                // after ',' in an object: a key
	sColon                 // after a key: ':'
	sAfter                 // after a value: ',' or a closer, or the end
	sString                // inside a string
	sEsc                   // after '\' in a string
	sEscU                  // inside \uXXXX
	sUTF8                  // inside a multi-byte UTF-8 sequence
	sNumMinus              // after '-'
	sNumZero               // after a leading 0
	sNumInt                // integer digits
	sNumDot                // after '.'
	sNumFrac               // fraction digits
	sNumE                  // after 'e'
	sNumESign              // after 'e+' or 'e-'
	sNumExp                // exponent digits
	sLiteral               // inside true, false or null
)

// frame is one open object or array.
type frame struct {
	obj   bool
	index int    // arrays: the current element
	key   string // objects: the current member
	keys  map[string]struct{}
	small []string
}

func (f *frame) add(k string) (dup bool) {
	if f.keys != nil {
		if _, ok := f.keys[k]; ok {
			return true
		}
		f.keys[k] = struct{}{}
		return false
	}
	for _, s := range f.small {
		if s == k {
			return true
		}
	}
	f.small = append(f.small, k)
	if len(f.small) > 16 {
		f.keys = make(map[string]struct{}, 32)
		for _, s := range f.small {
			f.keys[s] = struct{}{}
		}
		f.small = nil
	}
	return false
}

// Checker checks a document written to it in pieces. Its memory is bounded
// by the depth limit and the member names of the open objects. The zero
// value is not usable; call New.
type Checker struct {
	lim   Limits
	st    state
	stack []frame
	off   int64
	err   error
	seen  bool // a top-level value started

	// strings
	isKey  bool
	keyBuf []byte
	keyOff int64
	hex    int  // hex digits read in \u
	u      rune // \u value so far
	hi     rune // pending high surrogate (keys)
	// UTF-8
	utf    [4]byte
	utfN   int
	utfLen int
	utfOff int64
	// literals
	lit string
}

// New returns a Checker under l.
func New(l *Limits) *Checker {
	return &Checker{lim: l.norm()}
}

var _ io.Writer = (*Checker)(nil)

// Write checks the next bytes of the document. It returns the first broken
// rule as an *Error, and returns it again on every later call.
func (c *Checker) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for i, b := range p {
		if c.off >= c.lim.MaxBytes {
			c.err = &Error{Kind: KindTooLarge, Offset: c.off, Limit: c.lim.MaxBytes}
			return i, c.err
		}
		if err := c.step(b); err != nil {
			c.err = err
			return i, err
		}
		c.off++
	}
	return len(p), nil
}

// Close reports whether the bytes written form one complete document.
func (c *Checker) Close() error {
	if c.err != nil {
		return c.err
	}
	switch c.st {
	case sNumZero, sNumInt, sNumFrac, sNumExp:
		c.endValue()
	}
	switch {
	case !c.seen:
		c.err = &Error{Kind: KindEmpty, Offset: c.off}
	case c.st != sAfter || len(c.stack) > 0:
		c.err = &Error{Kind: KindSyntax, Offset: c.off, Path: c.path(), Detail: "the body ends in the middle of a JSON value"}
	}
	return c.err
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func (c *Checker) syntax(b byte, what string) error {
	return &Error{Kind: KindSyntax, Offset: c.off, Path: c.path(), Detail: fmt.Sprintf("unexpected %s %s", quoteByte(b), what)}
}

func quoteByte(b byte) string {
	if b < 0x20 || b >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", b)
	}
	return strconv.QuoteRune(rune(b))
}

func (c *Checker) step(b byte) error {
	switch c.st {
	case sValue, sArrFirst:
		if isSpace(b) {
			return nil
		}
		if c.st == sArrFirst && b == ']' {
			c.stack = c.stack[:len(c.stack)-1]
			c.endValue()
			return nil
		}
		return c.beginValue(b)
	case sObjFirst, sObjKey:
		switch {
		case isSpace(b):
			return nil
		case b == '}' && c.st == sObjFirst:
			c.stack = c.stack[:len(c.stack)-1]
			c.endValue()
			return nil
		case b == '"':
			c.st, c.isKey, c.keyBuf, c.keyOff, c.hi = sString, true, c.keyBuf[:0], c.off, 0
			return nil
		}
		return c.syntax(b, "where a member name was expected")
	case sColon:
		switch {
		case isSpace(b):
			return nil
		case b == ':':
			c.st = sValue
			return nil
		}
		return c.syntax(b, "after a member name (want ':')")
	case sAfter:
		if isSpace(b) {
			return nil
		}
		if len(c.stack) == 0 {
			return &Error{Kind: KindTrailing, Offset: c.off}
		}
		top := &c.stack[len(c.stack)-1]
		switch {
		case b == ',' && top.obj:
			top.key = ""
			c.st = sObjKey
		case b == ',':
			top.index++
			c.st = sValue
		case b == '}' && top.obj, b == ']' && !top.obj:
			c.stack = c.stack[:len(c.stack)-1]
			c.endValue()
		default:
			if top.obj {
				return c.syntax(b, "after an object member (want ',' or '}')")
			}
			return c.syntax(b, "after an array element (want ',' or ']')")
		}
		return nil
	case sString:
		switch {
		case b == '"':
			return c.endString()
		case b == '\\':
			c.st = sEsc
		case b < 0x20:
			return &Error{Kind: KindSyntax, Offset: c.off, Path: c.path(), Detail: fmt.Sprintf("control character 0x%02x in a string (escape it)", b)}
		case b < 0x80:
			c.keyByte(b)
		default:
			n := utf8Len(b)
			if n == 0 {
				return &Error{Kind: KindInvalidUTF8, Offset: c.off, Path: c.path()}
			}
			c.utf[0], c.utfN, c.utfLen, c.utfOff, c.st = b, 1, n, c.off, sUTF8
		}
		return nil
	case sUTF8:
		if b&0xC0 != 0x80 {
			return &Error{Kind: KindInvalidUTF8, Offset: c.utfOff, Path: c.path()}
		}
		c.utf[c.utfN] = b
		c.utfN++
		if c.utfN == c.utfLen {
			if !utf8.Valid(c.utf[:c.utfN]) { // overlong forms and surrogates
				return &Error{Kind: KindInvalidUTF8, Offset: c.utfOff, Path: c.path()}
			}
			for _, x := range c.utf[:c.utfN] {
				c.keyByte(x)
			}
			c.st = sString
		}
		return nil
	case sEsc:
		switch b {
		case '"', '\\', '/':
			c.keyByte(b)
		case 'b':
			c.keyByte('\b')
		case 'f':
			c.keyByte('\f')
		case 'n':
			c.keyByte('\n')
		case 'r':
			c.keyByte('\r')
		case 't':
			c.keyByte('\t')
		case 'u':
			c.st, c.hex, c.u = sEscU, 0, 0
			return nil
		default:
			return c.syntax(b, "after '\\' in a string")
		}
		c.st = sString
		return nil
	case sEscU:
		var d byte
		switch {
		case b >= '0' && b <= '9':
			d = b - '0'
		case b >= 'a' && b <= 'f':
			d = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			d = b - 'A' + 10
		default:
			return c.syntax(b, "in a \\u escape (want a hex digit)")
		}
		c.u = c.u<<4 | rune(d)
		if c.hex++; c.hex == 4 {
			c.keyRune(c.u)
			c.st = sString
		}
		return nil
	case sNumMinus:
		switch {
		case b == '0':
			c.st = sNumZero
		case b >= '1' && b <= '9':
			c.st = sNumInt
		default:
			return c.syntax(b, "after '-' (want a digit)")
		}
		return nil
	case sNumZero, sNumInt:
		switch {
		case b >= '0' && b <= '9' && c.st == sNumInt:
			return nil
		case b == '.':
			c.st = sNumDot
			return nil
		case b == 'e' || b == 'E':
			c.st = sNumE
			return nil
		case b >= '0' && b <= '9':
			return c.syntax(b, "after a leading 0")
		}
		c.endValue()
		return c.step(b)
	case sNumDot:
		if b >= '0' && b <= '9' {
			c.st = sNumFrac
			return nil
		}
		return c.syntax(b, "after '.' in a number (want a digit)")
	case sNumFrac:
		switch {
		case b >= '0' && b <= '9':
			return nil
		case b == 'e' || b == 'E':
			c.st = sNumE
			return nil
		}
		c.endValue()
		return c.step(b)
	case sNumE:
		switch {
		case b == '+' || b == '-':
			c.st = sNumESign
			return nil
		case b >= '0' && b <= '9':
			c.st = sNumExp
			return nil
		}
		return c.syntax(b, "in a number's exponent (want a digit)")
	case sNumESign:
		if b >= '0' && b <= '9' {
			c.st = sNumExp
			return nil
		}
		return c.syntax(b, "in a number's exponent (want a digit)")
	case sNumExp:
		if b >= '0' && b <= '9' {
			return nil
		}
		c.endValue()
		return c.step(b)
	case sLiteral:
		if b != c.lit[0] {
			return c.syntax(b, "in a literal (true, false or null)")
		}
		if c.lit = c.lit[1:]; c.lit == "" {
			c.endValue()
		}
		return nil
	}
	return c.syntax(b, "")
}

// beginValue starts the value whose first byte is b.
func (c *Checker) beginValue(b byte) error {
	c.seen = true
	switch {
	case b == '{' || b == '[':
		if len(c.stack) >= c.lim.MaxDepth {
			return &Error{Kind: KindTooDeep, Offset: c.off, Path: c.path(), Limit: int64(c.lim.MaxDepth)}
		}
		c.stack = append(c.stack, frame{obj: b == '{'})
		if b == '{' {
			c.st = sObjFirst
		} else {
			c.st = sArrFirst
		}
	case b == '"':
		c.st, c.isKey = sString, false
	case b == '-':
		c.st = sNumMinus
	case b == '0':
		c.st = sNumZero
	case b >= '1' && b <= '9':
		c.st = sNumInt
	case b == 't':
		c.st, c.lit = sLiteral, "rue"
	case b == 'f':
		c.st, c.lit = sLiteral, "alse"
	case b == 'n':
		c.st, c.lit = sLiteral, "ull"
	case b >= 0x80 && utf8Len(b) == 0:
		return &Error{Kind: KindInvalidUTF8, Offset: c.off, Path: c.path()}
	default:
		return c.syntax(b, "where a value was expected")
	}
	return nil
}

func (c *Checker) endValue() { c.st = sAfter }

// endString ends a string: a value, or a member name checked for repeats.
func (c *Checker) endString() error {
	if !c.isKey {
		c.endValue()
		return nil
	}
	c.flushHi()
	top := &c.stack[len(c.stack)-1]
	k := string(c.keyBuf)
	top.key = ""
	if top.add(k) {
		return &Error{Kind: KindDuplicateKey, Offset: c.keyOff, Path: c.path(), Key: k}
	}
	top.key = k
	c.st = sColon
	return nil
}

func (c *Checker) keyByte(b byte) {
	if c.isKey {
		c.flushHi()
		c.keyBuf = append(c.keyBuf, b)
	}
}

// keyRune adds a \u escape to the member name being read, joining surrogate
// pairs; a lone surrogate reads as U+FFFD, as encoding/json decodes it.
func (c *Checker) keyRune(r rune) {
	if !c.isKey {
		return
	}
	switch {
	case c.hi != 0 && r >= 0xDC00 && r < 0xE000:
		c.keyBuf = utf8.AppendRune(c.keyBuf, utf16.DecodeRune(c.hi, r))
		c.hi = 0
	case r >= 0xD800 && r < 0xDC00:
		c.flushHi()
		c.hi = r
	default:
		c.flushHi()
		c.keyBuf = utf8.AppendRune(c.keyBuf, r)
	}
}

func (c *Checker) flushHi() {
	if c.hi != 0 {
		c.keyBuf = utf8.AppendRune(c.keyBuf, utf8.RuneError)
		c.hi = 0
	}
}

// utf8Len returns the length of the sequence led by b, or 0 when b cannot lead one.
func utf8Len(b byte) int {
	switch {
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 0
}

// path renders the member path of the open containers.
func (c *Checker) path() string {
	var sb strings.Builder
	for i, f := range c.stack {
		if f.obj {
			if f.key == "" && i == len(c.stack)-1 {
				break // reading the next member name
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(f.key)
		} else {
			sb.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return sb.String()
}
