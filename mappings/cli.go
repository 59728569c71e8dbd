package mappings

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
// each failure, then checks that every kind and render has a fixture
// (Coverage). SOAP and mail fixtures are read by rd. With update it writes
// the want files that are missing or differ instead of failing on them. It
// returns 0 when all pass, else 1.
func CLITest(dir string, rd Readers, update bool, stdout, stderr io.Writer) int {
	s, err := Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintf(stderr, "run `gatewayd mappings validate %s` for every error with its position\n", dir)
		return 1
	}
	fx, err := Fixtures(dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	failed := 0
	results := make([]FixtureResult, 0, len(fx))
	for _, f := range fx {
		name := f.Partner + "/" + f.Name
		r := CheckFixture(s.Get(f.Partner), rd, f, update)
		results = append(results, r)
		switch {
		case r.Diff != "":
			fmt.Fprintf(stdout, "FAIL %s (- want, + got)\n%s", name, r.Diff)
			failed++
		case r.Err != nil:
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, r.Err)
			failed++
		case r.Updated:
			fmt.Fprintf(stdout, "wrote %s\n", r.Want)
		default:
			fmt.Fprintf(stdout, "ok   %s\n", name)
		}
	}
	gaps := Coverage(s, results)
	for _, g := range gaps {
		fmt.Fprintf(stdout, "FAIL coverage: %s\n", g)
	}
	fmt.Fprintf(stdout, "%d fixture(s), %d failed, %d kind(s) or render(s) without a fixture\n", len(fx), failed, len(gaps))
	if failed > 0 || len(gaps) > 0 {
		return 1
	}
	return 0
}

// CLITranslate reads one input from stdin and prints the canonical result
// (out == "") or, with out set to a render name, reads a render case
// {"order":…, "event":…, "extra":…} and prints the rendered message.
// explain adds which rule produced each canonical value. It returns 0 when
// every item translated, 1 when any failed (the result is printed either
// way), 2 for an unknown partner. The input is a JSON
// body or an envelope {"protocol","route","operation","headers","params","settings","body"};
// a SOAP envelope (XML) or a raw email is accepted too, read by rd as
// production reads it.
func CLITranslate(dir, partner string, rd Readers, explain bool, out string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	code := 0
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
		in, err := sniffInput(m, rd, data)
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
		for _, it := range b.Items {
			if it.Err != nil {
				code = 1
			}
		}
	}
	js, err := indentJSON(result)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(js) //nolint:errcheck // nothing to do when stdout fails
	return code
}

// sniffInput reads data by its first bytes: XML through rd's SOAP reader,
// JSON as a body or an envelope, anything else through rd's mail reader.
func sniffInput(m *Mapping, rd Readers, data []byte) (Input, error) {
	t := strings.TrimSpace(string(data[:min(len(data), 512)]))
	switch {
	case strings.HasPrefix(t, "<"):
		return rd.soap(m, data)
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		return parseInput(data)
	}
	return rd.mail(m, data)
}

// CLIUsage is the synopsis of the mappings subcommands.
const CLIUsage = `usage:
  mappings validate [DIR]                 every error as file:line:col: message; exit 1 on any
  mappings test [-update] [DIR]           run the golden fixtures; -update writes missing or differing want files
  mappings translate --partner P [--explain] [--out RENDER] [--dir DIR] < input
                                          print the canonical result (or the rendered order); exit 1 when an item fails
DIR defaults to the mappings folder (GATEWAY_MAPPINGS_DIR, else ./mappings).
`

// CLIMain runs "mappings validate|test|translate" with args (after "mappings")
// and returns the exit code; cmd/gatewayd calls it with the production
// readers (rd) instead of wiring the three entry points itself. defDir is
// used when no DIR is given. -h or --help prints the usage and returns 0.
func CLIMain(args []string, defDir string, rd Readers, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, CLIUsage)
		return 2
	}
	newFlags := func(name, synopsis string) *flag.FlagSet {
		fs := flag.NewFlagSet("mappings "+name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: mappings %s\n", synopsis)
			fs.PrintDefaults()
		}
		return fs
	}
	// parse parses args; help prints to stdout and is not an error.
	parse := func(fs *flag.FlagSet, args []string) (code int, ok bool) {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0, false
		}
		if err != nil {
			return 2, false
		}
		if fs.NArg() > 1 {
			fmt.Fprintf(stderr, "mappings %s: one folder at most, got %s\n", fs.Name(), strings.Join(fs.Args(), " "))
			return 2, false
		}
		return 0, true
	}
	dirArg := func(fs *flag.FlagSet) string {
		if fs.NArg() > 0 {
			return fs.Arg(0)
		}
		return defDir
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, CLIUsage)
		return 0
	case "validate":
		fs := newFlags("validate", "validate [DIR]")
		if code, ok := parse(fs, args[1:]); !ok {
			return code
		}
		return CLIValidate(dirArg(fs), stdout, stderr)
	case "test":
		fs := newFlags("test", "test [-update] [DIR]")
		update := fs.Bool("update", false, "write the want files that are missing or differ from the current results (read the diff before committing)")
		if code, ok := parse(fs, args[1:]); !ok {
			return code
		}
		return CLITest(dirArg(fs), rd, *update, stdout, stderr)
	case "translate":
		fs := newFlags("translate", "translate --partner P [--explain] [--out RENDER] [--dir DIR] < input")
		partner := fs.String("partner", "", "partner whose mapping translates the input")
		explain := fs.Bool("explain", false, "show which rule produced each canonical value")
		out := fs.String("out", "", "render this render kind instead of translating inbound")
		dir := fs.String("dir", defDir, "mappings folder")
		if code, ok := parse(fs, args[1:]); !ok {
			return code
		}
		if *partner == "" {
			fmt.Fprintln(stderr, "mappings translate: --partner is required")
			return 2
		}
		return CLITranslate(*dir, *partner, rd, *explain, *out, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown mappings command %q (validate, test, translate)\n", args[0])
	return 2
}
