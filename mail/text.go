package mail

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxTags bounds the number of tags read from one mail; more are ignored.
const maxTags = 64

// maxTagValue bounds one tag value in bytes; longer values are cut.
const maxTagValue = 16 << 10

// HTMLToText converts an HTML body to plain text: block elements become line
// breaks, scripts and styles are dropped, and quoted parts (blockquote,
// Gmail's gmail_quote, Outlook's divRplyFwdMsg) become "> " lines or a
// separator line that NewPart cuts at.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	quote := 0 // blockquote / quote-div depth
	skip := 0  // script, style, head, title depth
	var stack []atom.Atom
	var quoteAt []int // stack depths that opened a quote
	lineStart := true
	newline := func() {
		b.WriteByte('\n')
		lineStart = true
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyLines(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := collapseSpace(string(z.Text()))
			if strings.TrimSpace(text) == "" {
				if !lineStart && text != "" {
					b.WriteByte(' ')
				}
				continue
			}
			if lineStart {
				text = strings.TrimLeft(text, " ")
				if quote > 0 {
					b.WriteString(strings.Repeat(">", quote) + " ")
				}
			}
			b.WriteString(text)
			lineStart = false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			isQuote := a == atom.Blockquote
			isSep := false
			if hasAttr && (a == atom.Div || a == atom.Span || a == atom.Hr) {
				for {
					k, v, more := z.TagAttr()
					key, val := string(k), string(v)
					if key == "class" && (strings.Contains(val, "gmail_quote") || strings.Contains(val, "moz-cite-prefix") || strings.Contains(val, "yahoo_quoted")) {
						isQuote = true
					}
					if key == "id" && (val == "divRplyFwdMsg" || val == "appendonsend" || strings.HasPrefix(val, "x_divRplyFwdMsg")) {
						isSep = true
					}
					if !more {
						break
					}
				}
			}
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title:
				if tt == html.StartTagToken {
					skip++
					stack = append(stack, a)
				}
				continue
			case atom.Br:
				newline()
				continue
			}
			if isSep {
				if !lineStart {
					newline()
				}
				b.WriteString(originalMessageMarker)
				newline()
			}
			if blockElement(a) && !lineStart {
				newline()
			}
			if tt == html.StartTagToken && !voidElement(a) {
				stack = append(stack, a)
				if isQuote {
					quote++
					quoteAt = append(quoteAt, len(stack))
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			// Pop to the matching open element (tolerates unclosed tags).
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] != a {
					continue
				}
				for j := len(stack) - 1; j >= i; j-- {
					switch stack[j] {
					case atom.Script, atom.Style, atom.Head, atom.Title:
						if skip > 0 {
							skip--
						}
					}
					if n := len(quoteAt); n > 0 && quoteAt[n-1] == j+1 {
						quoteAt = quoteAt[:n-1]
						quote--
					}
				}
				stack = stack[:i]
				break
			}
			if blockElement(a) && !lineStart {
				newline()
			}
		}
	}
}

// originalMessageMarker is the separator HTMLToText writes where Outlook starts
// the quoted original; NewPart cuts there.
const originalMessageMarker = "-----Original Message-----"

func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Table, atom.Tr, atom.Li, atom.Ul, atom.Ol, atom.H1, atom.H2, atom.H3,
		atom.H4, atom.H5, atom.H6, atom.Blockquote, atom.Pre, atom.Hr, atom.Section, atom.Article,
		atom.Header, atom.Footer, atom.Body, atom.Dt, atom.Dd, atom.Address:
		return true
	}
	return false
}

func voidElement(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.Hr, atom.Img, atom.Input, atom.Meta, atom.Link, atom.Area, atom.Base, atom.Col,
		atom.Embed, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

var spaceRun = regexp.MustCompile(`[ \t\r\n\f\x{a0}]+`)

func collapseSpace(s string) string { return spaceRun.ReplaceAllString(s, " ") }

// tidyLines trims trailing spaces and collapses runs of blank lines.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

var (
	// Separators above a quoted original or a forwarded message.
	reSeparator = regexp.MustCompile(`(?i)^\s*(?:-{2,}|_{2,})\s*(?:original message|ursprüngliche nachricht|original-nachricht|originalnachricht|forwarded message|weitergeleitete nachricht|message d'origine|mensaje original|oorspronkelijk bericht|opprinnelig melding|ursprungligt meddelande)\s*(?:-{2,}|_{2,})?\s*$`)
	// Outlook's underscore rule above the quoted header block.
	reUnderscores = regexp.MustCompile(`^\s*_{20,}\s*$`)
	// Header block of a quoted original: "From: …" followed by Sent/Date/To.
	reQuotedFrom = regexp.MustCompile(`(?i)^\s*\*?(?:from|von|de|van|fra|från)\s*:\*?\s+\S`)
	reQuotedNext = regexp.MustCompile(`(?i)^\s*\*?(?:sent|date|gesendet|datum|envoyé|enviado|verzonden|sendt|skickat|to|an|à|para|aan|til|till)\s*:`)
	// Attribution line: "On Mon, 3 Jun 2024 Jane <j@x> wrote:" in several languages.
	reAttribution = regexp.MustCompile(`(?i)^\s*(?:on|am|le|el|il|op|den|på|w dniu)\s.{0,300}(?:(?:wrote|a écrit|escribió|ha scritto|schreef|skrev|napisał)\s*:|(?:schrieb|schreef|skrev)\s.{1,300}:)\s*$`)
	// Signature delimiter "-- " (RFC 3676) and common mobile footers.
	reSigDelim   = regexp.MustCompile(`^--\s?$`)
	reMobileSig  = regexp.MustCompile(`(?i)^\s*(?:sent from my|von meinem .{1,40} gesendet|envoyé de mon|enviado desde mi|get outlook for)\b`)
	reQuotedLine = regexp.MustCompile(`^\s*>`)
)

// NewPart returns the new part of a plain-text mail body: everything before
// the quoted original (attribution line, "Original Message" separator,
// Outlook's quoted header block), without "> " quoted lines and without the
// signature.
func NewPart(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := 0; i < len(lines) && i < cut; i++ {
		l := lines[i]
		switch {
		case reSeparator.MatchString(l), reSigDelim.MatchString(l), reMobileSig.MatchString(l):
			cut = i
		case reAttribution.MatchString(l):
			cut = i
		case i+1 < len(lines) && reAttribution.MatchString(l+" "+lines[i+1]) && !reQuotedLine.MatchString(l):
			// Attribution wrapped over two lines.
			cut = i
		case reUnderscores.MatchString(l) && i+1 < len(lines) && reQuotedFrom.MatchString(lines[i+1]):
			cut = i
		case reQuotedFrom.MatchString(l) && quotedHeaderBlock(lines[i+1:]):
			cut = i
		}
	}
	var b strings.Builder
	for _, l := range lines[:cut] {
		if reQuotedLine.MatchString(l) {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return tidyLines(b.String())
}

// quotedHeaderBlock reports whether one of the next three lines is a Sent/Date/To
// line, as in Outlook's quoted header block.
func quotedHeaderBlock(next []string) bool {
	for i := 0; i < len(next) && i < 3; i++ {
		if reQuotedNext.MatchString(next[i]) {
			return true
		}
	}
	return false
}

// ExtractTags finds key/value tags in text with the default tag pattern and
// returns them (later keys overwrite earlier ones) and the text with the tag
// lines removed. A tag whose value is empty takes the following lines, up to
// the next tag line, as its value (for a multi-line [[Solution]]).
func ExtractTags(text string) (map[string]string, string) {
	c, _ := (*Rules)(nil).compile()
	return c.extractTags(text)
}

func (c *compiled) extractTags(text string) (map[string]string, string) {
	tags := map[string]string{}
	locs := c.tags.FindAllStringSubmatchIndex(text, maxTags)
	if len(locs) == 0 {
		return tags, text
	}
	var rest strings.Builder
	prev := 0
	for i, m := range locs {
		if m[2*c.tagKey] < 0 || m[2*c.tagValue] < 0 {
			continue
		}
		key := text[m[2*c.tagKey]:m[2*c.tagKey+1]]
		val := strings.TrimSpace(text[m[2*c.tagValue]:m[2*c.tagValue+1]])
		end := m[1]
		if val == "" {
			// Multi-line value: the lines up to the next tag (or the end).
			next := len(text)
			if i+1 < len(locs) {
				next = locs[i+1][0]
			}
			val = tidyLines(text[end:next])
			end = next
		}
		if len(val) > maxTagValue {
			val = truncateUTF8(val, maxTagValue)
		}
		tags[key] = val
		rest.WriteString(text[prev:m[0]])
		prev = end
	}
	rest.WriteString(text[prev:])
	return tags, tidyLines(rest.String())
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
