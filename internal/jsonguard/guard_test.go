package jsonguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in     string
		kind   Kind
		offset int64
		msg    string
	}{
		{in: `{"a":1,"b":[true,false,null,"x",-0.5e+3,0,1E9]}`},
		{in: " \t\n[]\r\n"},
		{in: `"caf\u00e9 ☕ \ud83d\ude00"`},
		{in: `{"a\u0062":1,"ab2":2}`},
		{in: ``, kind: KindEmpty},
		{in: `   `, kind: KindEmpty, offset: 3},
		{in: `{"a":1}{}`, kind: KindTrailing, offset: 7},
		{in: `{"a":1} x`, kind: KindTrailing, offset: 8},
		{in: `{"a":1,"a":2}`, kind: KindDuplicateKey, offset: 7, msg: `duplicate member "a" in the top level at byte offset 7`},
		{in: `{"x":{"ab":1,"a\u0062":2}}`, kind: KindDuplicateKey, offset: 13, msg: `duplicate member "ab" in x at byte offset 13`},
		{in: `{"w":[{"n":1},{"n":1,"n":2}]}`, kind: KindDuplicateKey, offset: 21, msg: `duplicate member "n" in w[1] at byte offset 21`},
		{in: "{\"a\":\"U\xff1\"}", kind: KindInvalidUTF8, offset: 7, msg: "invalid UTF-8 at byte offset 7"},
		{in: "\"\xe2\x82\"", kind: KindInvalidUTF8, offset: 1},
		{in: "\"\xed\xa0\x80\"", kind: KindInvalidUTF8, offset: 1}, // an encoded surrogate
		{in: "\"\xc0\xaf\"", kind: KindInvalidUTF8, offset: 1},     // overlong
		{in: "[\xff]", kind: KindInvalidUTF8, offset: 1},
		{in: `[[[`, kind: KindSyntax, offset: 3},
		{in: `{"a" 1}`, kind: KindSyntax, offset: 5},
		{in: `[1,]`, kind: KindSyntax, offset: 3},
		{in: `[01]`, kind: KindSyntax, offset: 2},
		{in: `[1.]`, kind: KindSyntax, offset: 3},
		{in: `[-]`, kind: KindSyntax, offset: 2},
		{in: `[tru]`, kind: KindSyntax, offset: 4},
		{in: "\"a\tb\"", kind: KindSyntax, offset: 2},
		{in: `"\x"`, kind: KindSyntax, offset: 2},
		{in: `"\u12G4"`, kind: KindSyntax, offset: 5},
		{in: strings.Repeat("[", 32) + strings.Repeat("]", 32)},
		{in: strings.Repeat("[", 33), kind: KindTooDeep, offset: 32, msg: "JSON nested deeper than 32 levels at byte offset 32 ([0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0])"},
		{in: `{"a":{"b":` + strings.Repeat("[", 31), kind: KindTooDeep, offset: 40},
	} {
		err := Check([]byte(tc.in), nil)
		if tc.kind == 0 {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tc.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Check(%q) = %v, want an *Error of kind %d", tc.in, err, tc.kind)
			continue
		}
		if e.Kind != tc.kind || e.Offset != tc.offset {
			t.Errorf("Check(%q) = kind %d offset %d (%v), want kind %d offset %d", tc.in, e.Kind, e.Offset, err, tc.kind, tc.offset)
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("Check(%q) = %q, want %q", tc.in, err.Error(), tc.msg)
		}
	}
}

func TestLimits(t *testing.T) {
	l := &Limits{MaxBytes: 10, MaxDepth: 2}
	if err := Check([]byte(`[[1]]`), l); err != nil {
		t.Errorf("Check([[1]], depth 2) = %v, want nil", err)
	}
	var e *Error
	if err := Check([]byte(`[[[1]]]`), l); !errors.As(err, &e) || e.Kind != KindTooDeep || e.Limit != 2 {
		t.Errorf("Check([[[1]]], depth 2) = %v, want too deep", err)
	}
	if err := Check([]byte(`"0123456789"`), l); !errors.As(err, &e) || e.Kind != KindTooLarge || e.Offset != 10 {
		t.Errorf("Check(12 bytes, max 10) = %v, want too large at 10", err)
	}
	if got := (&Error{Kind: KindTooLarge, Limit: 10}).Error(); got != "the body exceeds the limit of 10 bytes" {
		t.Errorf("Error() = %q", got)
	}
}

// TestReadInPieces feeds the document a byte at a time: a state machine that
// lost its place across writes would fail here.
func TestReadInPieces(t *testing.T) {
	doc := `{"a":"caf` + "\u00e9" + `\u00e9","n":-12.5e-3,"l":[true,null],"z":"` + "\U0001F600" + `"}`
	got, err := Read(iotest.OneByteReader(strings.NewReader(doc)), nil)
	if err != nil || string(got) != doc {
		t.Fatalf("Read(one byte at a time) = %q, %v; want the document, nil", got, err)
	}
	bad := "{\"a\":\"x\xe2\x82\"}"
	if _, err := Read(iotest.OneByteReader(strings.NewReader(bad)), nil); err == nil {
		t.Fatalf("Read(%q) = nil, want invalid UTF-8", bad)
	}
	// A document over the limit stops being read just past the limit.
	r := &countingReader{r: strings.NewReader(strings.Repeat(" ", 5000) + "1")}
	if _, err := Read(r, &Limits{MaxBytes: 1000}); err == nil || r.n > 1001+4096 {
		t.Fatalf("Read(5001 bytes, max 1000) = %v after %d bytes; want too large, early", err, r.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestBoundedMemory is the regression test for 1 MiB of "[": the recursive
// check it replaced allocated about 230 MiB for it. The guard allocates
// about the document's own size (the read buffer) and stops at the depth
// limit long before.
func TestBoundedMemory(t *testing.T) {
	doc := bytes.Repeat([]byte("["), 1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 8 {
		if err := Check(doc, nil); err == nil {
			t.Fatal("Check(1 MiB of [) = nil, want too deep")
		}
		if _, err := Read(bytes.NewReader(doc), &Limits{MaxBytes: 2 << 20}); err == nil {
			t.Fatal("Read(1 MiB of [) = nil, want too deep")
		}
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("8 checks of 1 MiB of [ allocated %d bytes, want under 1 MiB", alloc)
	}
}

// FuzzCheck compares the guard with encoding/json: a document the guard
// accepts is valid JSON, valid UTF-8 and free of duplicate members; one it
// refuses breaks one of those rules or a limit.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2,{"b":[null]}]`, `{"a":1,"a":2}`, "\"\xff\"", `"\u00e9"`, `{"é":1,"\u00e9":2}`,
		`[[[[[[`, `1e5`, `-0.0`, ` "x" `, `{"a":{}} 1`, "\"\\ud800\"", `{"a":[1,{"b":2,"c":[3]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b, &Limits{MaxDepth: 8})
		valid := json.Valid(b)
		if err == nil {
			if !valid || !utf8.Valid(b) {
				t.Fatalf("Check(%q) = nil, but encoding/json says valid=%v, utf8 %v", b, valid, utf8.Valid(b))
			}
			if dupFree(b) != nil {
				t.Fatalf("Check(%q) = nil, but it repeats a member", b)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Check(%q) = %T %v, want *Error", b, err, err)
		}
		if e.Offset < 0 || e.Offset > int64(len(b)) {
			t.Fatalf("Check(%q) offset %d outside the document", b, e.Offset)
		}
		switch e.Kind {
		case KindSyntax, KindEmpty, KindTrailing:
			if valid {
				t.Fatalf("Check(%q) = %v, but encoding/json says valid", b, err)
			}
		case KindInvalidUTF8:
			if utf8.Valid(b) {
				t.Fatalf("Check(%q) = %v, but the bytes are UTF-8", b, err)
			}
		case KindDuplicateKey:
			if valid && dupFree(b) == nil && utf8.Valid(b) {
				t.Fatalf("Check(%q) = %v, but no member repeats", b, err)
			}
		}
	})
}

// dupFree decodes b with encoding/json token by token and reports a repeated member.
func dupFree(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type lvl struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var st []*lvl
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if len(st) > 0 && st[len(st)-1].obj && st[len(st)-1].wantKey {
			if k, ok := tok.(string); ok {
				top := st[len(st)-1]
				if top.keys[k] {
					return errors.New("dup")
				}
				top.keys[k] = true
				top.wantKey = false
				continue
			}
		}
		if len(st) > 0 && st[len(st)-1].obj {
			st[len(st)-1].wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			st = append(st, &lvl{obj: true, keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			st = append(st, &lvl{})
		case json.Delim('}'), json.Delim(']'):
			st = st[:len(st)-1]
			if len(st) > 0 && st[len(st)-1].obj {
				st[len(st)-1].wantKey = true
			}
		}
	}
}
