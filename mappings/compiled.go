package mappings

import (
	"regexp"
	"sort"

	"github.com/equus/sogateway/internal/model"
)

// tkind is the kind of place a rule writes to.
type tkind uint8

const (
	tNone tkind = iota
	tRefsRequestor
	tRefsServicer
	tCompany
	tServiceType
	tStatus
	tFlags
	tPartnerStatus
	tClientStatus
	tField
	tData
	tTasks
	tAttachments
	tMessage
	tTargetOrderID
	tTargetRequestor
	tTargetServicer
	tAccepted
	tElem // a key of an each element
	tOut  // a render output path or text variable
)

var inboundTargets = map[string]tkind{
	"refs.requestor": tRefsRequestor, "refs.servicer": tRefsServicer, "company": tCompany,
	"service_type": tServiceType, "status": tStatus, "flags": tFlags, "partner_status": tPartnerStatus,
	"client_status": tClientStatus, "tasks": tTasks, "attachments": tAttachments, "message": tMessage,
	"target.order_id": tTargetOrderID, "target.requestor": tTargetRequestor, "target.servicer": tTargetServicer,
	"accepted": tAccepted,
}

var inboundTargetNames = func() []string {
	n := []string{"fields.<name>", "data.<name>"}
	for k := range inboundTargets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}()

var taskKeys = []string{"id", "name", "status", "instructions"}
var attachmentKeys = []string{"name", "content_type", "size", "sha256", "url", "stored_at"}

var (
	fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	dataNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envNameRE   = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	xmlPathRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)
)

// value types known to the type checker.
const (
	tyAny     = "any"
	tyString  = "string"
	tyNumber  = "number"
	tyBool    = "boolean"
	tyArray   = "array"
	tyObject  = "object"
	tyTime    = "timestamp"
	tyNothing = "null"
)

var ruleTypes = []string{tyString, tyNumber, tyBool, tyArray, tyObject, tyTime}

// target is where a compiled rule writes.
type target struct {
	kind tkind
	name string // field / data / element key / output path
}

// crule is a compiled rule.
type crule struct {
	pos      Pos
	where    string // "file:line" for runtime errors
	to       target
	toText   string
	from     []source
	hasValue bool
	value    any
	tmpl     *template
	typ      string
	required bool
	pattern  *regexp.Regexp
	expect   string
	maxItems int
	hasDef   bool
	def      any
	do       []*ctransform
	when     *ccond
	status   *cstatus
	each     []*crule
	elemKind tkind    // for each: tasks, attachments or plain maps
	fast     bool     // string-only rule: see env.runFast
	out      []string // a JSON render's output path as plain keys (outParts), or nil
	// renderFast: a JSON render rule that copies a path (see env.runRenderFast).
	renderFast bool
}

// ckind is a compiled inbound kind.
type ckind struct {
	name      string
	pos       Pos
	match     *ccond
	event     model.EventType
	create    bool
	recreate  bool
	require   model.Require
	messageID *source
	rules     []*crule
	refuse    []*crefusal
	pre       *prefetch
	nFields   int // field and data rules, to size the maps once
	nData     int
	// unmapped is the data member that keeps the members no rule reads
	// (read lists the top-level members the kind's rules read).
	unmapped string
	read     map[string]bool
}

type crefusal struct {
	where   string
	when    *ccond
	field   string
	message string
}

// cstatus is a compiled status table.
type cstatus struct {
	name       string
	ignoreCase bool
	unset      *cstatusRow
	rows       map[string]*cstatusRow
	known      []string
}

type cstatusRow struct {
	partner      string
	status       *model.Status
	flags        []model.Flag
	removeFlags  []model.Flag
	clientStatus string
	when         *ccond
	otherwise    string
	refuse       string
}

// cmap is a compiled value map.
type cmap struct {
	name       string
	fwd        map[string]string
	rev        map[string]string
	ignoreCase bool
	def        *string
	known      []string // partner values as written
}

// crender is a compiled render.
type crender struct {
	name        string
	format      string
	contentType string
	root, ns    string
	subject     *template
	body        *template
	headers     map[string]*template
	rules       []*crule
	needs       docNeeds // what the rules read of the document
	outNodes    int      // the most output nodes the rules write (sizes the jtree)
}

// Mapping is one compiled partner mapping. It is immutable and safe for
// concurrent use.
type Mapping struct {
	name      string
	version   string
	file      string
	spec      *Spec
	kinds     []*ckind
	renders   map[string]*crender
	owners    map[string]model.Owner
	autoAdmin string // "true", "false" or a setting name
	settings  map[string]string
	messageID *source
	split     *source
	key       *source
	unwrap    []string
}

// Name returns the partner's name.
func (m *Mapping) Name() string { return m.name }

// Version returns the content hash of the mapping file, e.g. "sha256:ab12cd34ef56".
func (m *Mapping) Version() string { return m.version }

// Spec returns the decoded, validated declaration. Callers must not modify it.
func (m *Mapping) Spec() *Spec { return m.spec }

// File returns the path of the mapping file.
func (m *Mapping) File() string { return m.file }

// Kinds returns the names of the inbound message kinds in match order.
func (m *Mapping) Kinds() []string {
	out := make([]string, len(m.kinds))
	for i, k := range m.kinds {
		out[i] = k.name
	}
	return out
}

// Renders returns the names of the declared renders, sorted.
func (m *Mapping) Renders() []string {
	out := make([]string, 0, len(m.renders))
	for k := range m.renders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HasRender reports whether the mapping declares render name.
func (m *Mapping) HasRender(name string) bool {
	_, ok := m.renders[name]
	return ok
}
