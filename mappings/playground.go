package mappings

// TranslateExplained translates one payload as `gatewayd mappings translate
// --explain` does (a JSON body or envelope, a SOAP envelope, or a raw email,
// told apart by their first bytes; XML and mail read by rd) and returns the canonical result with the
// rule behind each value, as indented JSON. Nothing is committed: the console's
// playground calls it for mapping authors. An error is the mapping's verdict
// on the payload, written for its author.
func TranslateExplained(m *Mapping, rd Readers, data []byte) ([]byte, error) {
	v, err := translateView(m, rd, data, true)
	if err != nil {
		return nil, err
	}
	return indentJSON(v)
}

// translateView translates one sniffed input and returns the printable batch.
func translateView(m *Mapping, rd Readers, data []byte, explain bool) (batchView, error) {
	in, err := sniffInput(m, rd, data)
	if err != nil {
		return batchView{}, err
	}
	in.Explain = explain
	b, err := m.Translate(in)
	if err != nil {
		return batchView{}, err
	}
	return viewBatch(b, true), nil
}
