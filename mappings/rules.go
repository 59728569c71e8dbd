package mappings

import (
	"regexp"
	"strings"
)

// compileTarget resolves a rule's to. parent is tNone for top-level inbound
// rules, the parent's kind for each rules, tOut for renders.
func (c *compiler) compileTarget(r *Rule, parent tkind) (target, string) {
	to := r.To
	p := c.at(r, "to", r.Pos)
	if to == "" {
		c.errPos(r.Pos, "rule needs to")
		return target{}, tyAny
	}
	if c.render && parent == tNone {
		if c.format == "xml" && !xmlPathRE.MatchString(to) {
			c.errPos(p, "xml output path %q must be element names joined by '.'", to)
		} else if c.format == "text" && !dataNameRE.MatchString(to) {
			c.errPos(p, "text render variable %q must be a name (letters, digits, _)", to)
		} else if msg := validGJSONPath(to); msg != "" || strings.ContainsAny(to, "#@|*?") {
			if msg == "" {
				msg = "output paths cannot hold queries, wildcards or modifiers"
			}
			c.errPos(p, "invalid output path %q: %s", to, msg)
		}
		return target{kind: tOut, name: to}, tyAny
	}
	switch parent {
	case tTasks:
		if name, ok := strings.CutPrefix(to, "fields."); ok && fieldNameRE.MatchString(name) {
			return target{kind: tElem, name: to}, tyAny
		}
		if !contains(taskKeys, to) {
			c.errPos(p, "unknown task field %q (known: %s, fields.<name>)%s", to, strings.Join(taskKeys, ", "), hint(to, taskKeys))
		}
		return target{kind: tElem, name: to}, tyString
	case tAttachments:
		if !contains(attachmentKeys, to) {
			c.errPos(p, "unknown attachment field %q (known: %s)%s", to, strings.Join(attachmentKeys, ", "), hint(to, attachmentKeys))
		}
		if to == "size" {
			return target{kind: tElem, name: to}, tyNumber
		}
		return target{kind: tElem, name: to}, tyString
	case tField, tData, tOut:
		if to == "." {
			return target{kind: tElem, name: "."}, tyAny
		}
		if !dataNameRE.MatchString(to) {
			c.errPos(p, "element key %q must be a name (letters, digits, _)", to)
		}
		return target{kind: tElem, name: to}, tyAny
	}
	if k, ok := inboundTargets[to]; ok {
		switch k {
		case tAccepted:
			return target{kind: k}, tyBool
		case tTasks, tAttachments:
			return target{kind: k}, tyArray
		case tFlags:
			return target{kind: k}, tyAny
		}
		return target{kind: k}, tyString
	}
	if name, ok := strings.CutPrefix(to, "fields."); ok {
		if !fieldNameRE.MatchString(name) {
			c.errPos(p, "canonical field name %q must be lower_snake_case", name)
		}
		return target{kind: tField, name: name}, tyAny
	}
	if name, ok := strings.CutPrefix(to, "data."); ok {
		if !dataNameRE.MatchString(name) {
			c.errPos(p, "event data name %q must be a name (letters, digits, _)", name)
		}
		return target{kind: tData, name: name}, tyAny
	}
	c.errPos(p, "unknown canonical field %q%s", to, hint(to, inboundTargetNames))
	return target{}, tyAny
}

// normConst turns YAML-decoded numbers into float64 as JSON values are.
func normConst(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = normConst(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normConst(x[k])
		}
	}
	return v
}

func (c *compiler) compileRule(r *Rule, parent tkind) *crule {
	cr := &crule{pos: r.Pos, where: c.where(r.Pos), toText: r.To, required: r.Required, maxItems: r.MaxItems, expect: r.Expect}
	var want string
	cr.to, want = c.compileTarget(r, parent)
	n := 0
	cur := tyAny
	if len(r.From) > 0 {
		n++
		for _, f := range r.From {
			var src source
			var msg string
			if c.render {
				switch {
				case c.base == "*":
				case c.base != "":
					if f != "@this" {
						msg = checkCanonicalPath(c.base + ".#." + f)
					}
				default:
					msg = checkCanonicalPath(f)
				}
				src = source{root: rootItem, path: f, text: f}
			} else {
				src, msg = c.compileSource(f)
			}
			if msg != "" {
				c.errPos(c.at(r, "from", r.Pos), "%s", msg)
			}
			cr.from = append(cr.from, src)
		}
	}
	if _, ok := c.keys[r]["value"]; ok {
		n++
		cr.hasValue, cr.value = true, normConst(r.Value)
		cur = typeOfConst(cr.value)
	}
	if r.Template != "" {
		n++
		cr.tmpl = c.compileTemplate(r.Template, c.at(r, "template", r.Pos))
		cur = tyString
	}
	if n != 1 && r.Status == "" {
		c.errPos(r.Pos, "rule for %s needs exactly one of from, value, template", r.To)
	}
	if r.Status != "" && len(r.From) == 0 {
		c.errPos(r.Pos, "rule for %s: a status table reads from a path (from: …)", r.To)
	}
	if r.Type != "" {
		if !contains(ruleTypes, r.Type) {
			c.errPos(c.at(r, "type", r.Pos), "unknown type %q (known: %s)%s", r.Type, strings.Join(ruleTypes, ", "), hint(r.Type, ruleTypes))
		} else if cr.hasValue && !compatible(cur, r.Type) {
			c.errPos(c.at(r, "type", r.Pos), "type mismatch: value is a %s, type says %s", cur, r.Type)
		}
		cr.typ = r.Type
		cur = r.Type
		if cur == tyTime {
			cur = tyString
		}
	}
	if _, ok := c.keys[r]["default"]; ok {
		cr.hasDef, cr.def = true, normConst(r.Default)
		if dt := typeOfConst(cr.def); cur != tyAny && dt != tyNothing && !compatible(dt, cur) {
			c.errPos(c.at(r, "default", r.Pos), "type mismatch: default is a %s, the rule reads a %s", dt, cur)
		}
	}
	if r.Pattern != "" {
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			c.errPos(c.at(r, "pattern", r.Pos), "invalid pattern: %v", err)
		}
		cr.pattern = re
		if cur != tyAny && cur != tyString {
			c.errPos(c.at(r, "pattern", r.Pos), "type mismatch: pattern needs a string, the rule reads a %s", cur)
		}
	}
	if r.MaxItems != 0 && cur != tyAny && cur != tyArray {
		c.errPos(c.at(r, "max_items", r.Pos), "type mismatch: max_items needs an array, the rule reads a %s", cur)
	}
	if r.When != nil {
		cr.when = c.compileCond(r.When)
	}
	for _, t := range r.Do {
		ct, out := c.compileTransform(t, cur)
		if ct != nil {
			cr.do = append(cr.do, ct)
		}
		cur = out
	}
	if r.Status != "" {
		st, ok := c.statuses[r.Status]
		if !ok {
			c.errPos(c.at(r, "status", r.Pos), "unknown status table %q%s", r.Status, hint(r.Status, keys(c.statuses)))
		}
		if cr.to.kind != tStatus {
			c.errPos(c.at(r, "status", r.Pos), "a status table writes to status, not %s", r.To)
		}
		cr.status = st
		return cr
	}
	if len(r.Each) > 0 {
		if cur != tyAny && cur != tyArray {
			c.errPos(c.at(r, "each", r.Pos), "type mismatch: each needs an array, the rule reads a %s", cur)
		}
		switch cr.to.kind {
		case tTasks, tAttachments, tField, tData, tOut:
			cr.elemKind = cr.to.kind
		default:
			c.errPos(c.at(r, "each", r.Pos), "each builds a list; %s does not hold one", r.To)
		}
		saved := c.base
		if c.render {
			switch {
			case len(r.From) == 0 || c.base != "":
				c.base = "*" // not checked below templates, constants or nested lists
			default:
				c.base = r.From[0]
			}
		}
		for _, sub := range r.Each {
			if sc := c.compileRule(sub, cr.elemKind); sc != nil {
				cr.each = append(cr.each, sc)
			}
		}
		c.base = saved
		return cr
	}
	if (cr.to.kind == tTasks || cr.to.kind == tAttachments) && len(r.Each) == 0 {
		c.errPos(r.Pos, "%s needs each: (the rules for one element)", r.To)
	}
	c.checkCanonicalValues(r, cr)
	cr.fast = len(cr.from) > 0 && cr.when == nil && !cr.hasDef && cr.maxItems == 0 && (cr.typ == "" || cr.typ == tyString) && !c.render
	for _, t := range cr.do {
		cr.fast = cr.fast && t.str != nil
	}
	if !compatible(cur, want) {
		c.errPos(c.at(r, "to", r.Pos), "type mismatch: %s needs a %s, the rule gives a %s", r.To, want, cur)
	}
	return cr
}
