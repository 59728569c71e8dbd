package soap

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// WSDL returns the service description with SOAP 1.1 and 1.2 bindings whose
// address is the contract's Path alone; the handler serves WSDLAt with the
// absolute URL instead.
func (c Contract) WSDL() []byte {
	c = c.withDefaults()
	return c.WSDLAt(c.Path)
}

// WSDLAt returns the WSDL with location as the address of both ports. It is
// generated from the declared operations, so a contract change changes it.
func (c Contract) WSDLAt(location string) []byte {
	c = c.withDefaults()
	var b bytes.Buffer
	w := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
	}
	e := func(s string) string { var eb bytes.Buffer; escape(&eb, s); return eb.String() }
	ns := e(c.Namespace)
	w(xml.Header)
	w(`<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="`, ns,
		`" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" targetNamespace="`, ns,
		`" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">`, "\n")
	w(`  <wsdl:types>`, "\n", `    <s:schema elementFormDefault="qualified" targetNamespace="`, ns, `">`, "\n")
	for _, op := range c.Operations {
		w(`      <s:element name="`, op.Name, `">`, "\n", `        <s:complexType>`, "\n", `          <s:sequence>`, "\n")
		for _, p := range op.Params {
			// ASMX writes value types (here booleans) with minOccurs="1", so
			// .NET proxies always send them; an absent one still means false.
			min := "0"
			if p.Required || p.Type == TypeBoolean {
				min = "1"
			}
			if p.Type == TypeString && p.MaxLength > 0 {
				w(`            <s:element minOccurs="`, min, `" maxOccurs="1" name="`, p.Name, `">`,
					`<s:simpleType><s:restriction base="s:string"><s:maxLength value="`, strconv.Itoa(p.MaxLength),
					`" /></s:restriction></s:simpleType></s:element>`, "\n")
				continue
			}
			w(`            <s:element minOccurs="`, min, `" maxOccurs="1" name="`, p.Name, `" type="s:`, p.Type, `" />`, "\n")
		}
		w(`          </s:sequence>`, "\n", `        </s:complexType>`, "\n", `      </s:element>`, "\n")
		w(`      <s:element name="`, op.Name, `Response">`, "\n", `        <s:complexType>`, "\n", `          <s:sequence>`, "\n",
			`            <s:element minOccurs="0" maxOccurs="1" name="`, op.Result, `" type="s:string" />`, "\n",
			`          </s:sequence>`, "\n", `        </s:complexType>`, "\n", `      </s:element>`, "\n")
	}
	w(`    </s:schema>`, "\n", `  </wsdl:types>`, "\n")
	for _, op := range c.Operations {
		w(`  <wsdl:message name="`, op.Name, `SoapIn">`, "\n", `    <wsdl:part name="parameters" element="tns:`, op.Name, `" />`, "\n", `  </wsdl:message>`, "\n")
		w(`  <wsdl:message name="`, op.Name, `SoapOut">`, "\n", `    <wsdl:part name="parameters" element="tns:`, op.Name, `Response" />`, "\n", `  </wsdl:message>`, "\n")
	}
	w(`  <wsdl:portType name="`, c.Service, `Soap">`, "\n")
	for _, op := range c.Operations {
		w(`    <wsdl:operation name="`, op.Name, `">`, "\n")
		if op.Doc != "" {
			w(`      <wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">`, e(op.Doc), `</wsdl:documentation>`, "\n")
		}
		w(`      <wsdl:input message="tns:`, op.Name, `SoapIn" />`, "\n", `      <wsdl:output message="tns:`, op.Name, `SoapOut" />`, "\n",
			`    </wsdl:operation>`, "\n")
	}
	w(`  </wsdl:portType>`, "\n")
	for _, bind := range []struct{ suffix, prefix string }{{"Soap", "soap"}, {"Soap12", "soap12"}} {
		w(`  <wsdl:binding name="`, c.Service, bind.suffix, `" type="tns:`, c.Service, `Soap">`, "\n",
			`    <`, bind.prefix, `:binding transport="http://schemas.xmlsoap.org/soap/http" />`, "\n")
		for _, op := range c.Operations {
			w(`    <wsdl:operation name="`, op.Name, `">`, "\n",
				`      <`, bind.prefix, `:operation soapAction="`, e(c.Action(op.Name)), `" style="document" />`, "\n",
				`      <wsdl:input>`, "\n", `        <`, bind.prefix, `:body use="literal" />`, "\n", `      </wsdl:input>`, "\n",
				`      <wsdl:output>`, "\n", `        <`, bind.prefix, `:body use="literal" />`, "\n", `      </wsdl:output>`, "\n",
				`    </wsdl:operation>`, "\n")
		}
		w(`  </wsdl:binding>`, "\n")
	}
	w(`  <wsdl:service name="`, c.Service, `">`, "\n")
	for _, bind := range []struct{ suffix, prefix string }{{"Soap", "soap"}, {"Soap12", "soap12"}} {
		w(`    <wsdl:port name="`, c.Service, bind.suffix, `" binding="tns:`, c.Service, bind.suffix, `">`, "\n",
			`      <`, bind.prefix, `:address location="`, e(location), `" />`, "\n", `    </wsdl:port>`, "\n")
	}
	w(`  </wsdl:service>`, "\n", `</wsdl:definitions>`, "\n")
	return b.Bytes()
}

// envelopeOpen returns the start of an envelope of version v, as ASMX writes it.
func envelopeOpen(v string) string {
	ns := nsEnv11
	if v == V12 {
		ns = nsEnv12
	}
	return `<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="` + ns + `">`
}

// response renders op's response envelope holding result.
func (c *Contract) response(v string, op *Operation, result string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header[:len(xml.Header)-1])
	b.WriteString(envelopeOpen(v))
	b.WriteString(`<soap:Body><`)
	b.WriteString(op.Name)
	b.WriteString(`Response xmlns="`)
	escape(&b, c.Namespace)
	b.WriteString(`"><`)
	b.WriteString(op.Result)
	b.WriteString(`>`)
	escape(&b, result)
	b.WriteString(`</`)
	b.WriteString(op.Result)
	b.WriteString(`></`)
	b.WriteString(op.Name)
	b.WriteString(`Response></soap:Body></soap:Envelope>`)
	return b.Bytes()
}
