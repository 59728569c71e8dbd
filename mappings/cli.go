package mappings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// CLIValidate loads every mapping under dir and lists every error, one per
// line as "file:line:col: message". It returns 0 when all are valid, else 1.
func CLIValidate(dir string, stdout, stderr io.Writer) int {
	s, err := Load(dir)
	if err != nil {
		var le LoadErrors
		if errors.As(err, &le) {
			for _, e := range le {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "%d error(s)\n", len(le))
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	for _, n := range s.Names() {
		m := s.Get(n)
		fmt.Fprintf(stdout, "ok %s %s (%d kinds, %d renders)\n", n, m.Version(), len(m.kinds), len(m.renders))
	}
	return 0
}

// CLITest runs every golden fixture under dir and prints a readable diff for
// each failure. It returns 0 when all pass, else 1.
func CLITest(dir string, stdout, stderr io.Writer) int {
	s, err := Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fx, err := Fixtures(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	failed := 0
	for _, f := range fx {
		name := f.Partner + "/" + f.Name
		got, err := RunFixture(s.Get(f.Partner), f)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
			failed++
			continue
		}
		want, err := os.ReadFile(f.Want)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
			failed++
			continue
		}
		if !sameJSON(want, got) {
			fmt.Fprintf(stdout, "FAIL %s (- want, + got)\n%s", name, lineDiff(want, got))
			failed++
			continue
		}
		fmt.Fprintf(stdout, "ok   %s\n", name)
	}
	fmt.Fprintf(stdout, "%d fixture(s), %d failed\n", len(fx), failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// CLITranslate reads one input from stdin and prints the canonical result
// (out == "") or, with out set to a render name, reads a render case
// {"order":…, "event":…, "extra":…} and prints the rendered message.
// explain adds which rule produced each canonical value. The input is a JSON
// body or an envelope {"protocol","route","operation","headers","params","settings","body"};
// a SOAP envelope (XML) or a raw email is accepted too.
func CLITranslate(dir, partner string, explain bool, out string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, err := Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	m := s.Get(partner)
	if m == nil {
		fmt.Fprintf(stderr, "unknown partner %q (known: %s)\n", partner, strings.Join(s.Names(), ", "))
		return 2
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var result any
	if out != "" {
		rc, err := decodeRenderCase(data)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		r, err := m.Render(out, rc.Order, rc.Event, rc.Extra)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		result = viewRendered(r)
	} else {
		in, err := sniffInput(m, data)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		in.Explain = explain
		b, err := m.Translate(in)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		result = viewBatch(b, true)
	}
	js, err := indentJSON(result)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(js) //nolint:errcheck // nothing to do when stdout fails
	return 0
}

func sniffInput(m *Mapping, data []byte) (Input, error) {
	t := strings.TrimSpace(string(data[:min(len(data), 512)]))
	switch {
	case strings.HasPrefix(t, "<"):
		return SOAPInput(m, data)
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		return parseInput(data)
	}
	return MailInput(m, data)
}

// CLIMain runs "mappings validate|test|translate" with args (after "mappings")
// and returns the exit code; cmd/gatewayd may call it instead of wiring the
// three entry points itself. defDir is used when no DIR is given.
func CLIMain(args []string, defDir string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: mappings validate [DIR] | test [DIR] | translate --partner P [--explain] [--out RENDER] [--dir DIR] < input")
		return 2
	}
	dirArg := func(rest []string) string {
		if len(rest) > 0 {
			return rest[0]
		}
		return defDir
	}
	switch args[0] {
	case "validate":
		return CLIValidate(dirArg(args[1:]), stdout, stderr)
	case "test":
		return CLITest(dirArg(args[1:]), stdout, stderr)
	case "translate":
		fs := flag.NewFlagSet("mappings translate", flag.ContinueOnError)
		fs.SetOutput(stderr)
		partner := fs.String("partner", "", "partner whose mapping translates the input")
		explain := fs.Bool("explain", false, "show which rule produced each canonical value")
		out := fs.String("out", "", "render this render kind instead of translating inbound")
		dir := fs.String("dir", defDir, "mappings folder")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *partner == "" {
			fmt.Fprintln(stderr, "mappings translate: --partner is required")
			return 2
		}
		return CLITranslate(*dir, *partner, *explain, *out, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown mappings command %q (validate, test, translate)\n", args[0])
	return 2
}
