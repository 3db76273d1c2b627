package rehearsal

import (
	"bytes"
	"strconv"
)

// The simulated students read the app's answers by scanning for the tags they need rather
// than parsing each page into a document: on one machine their CPU is taken from the app
// they measure (an HTML parse per answer was the largest part of it). The tags are the
// app's own templates', whose attributes are written as name="value".

// tagWith returns the first tag at or after body[from:] that has the attribute attr (as
// written, name="value") and is of the element named elem, with where it ends; nil when
// there is none.
func tagWith(body []byte, from int, elem, attr string) (tag []byte, end int) {
	open := "<" + elem + " "
	for from < len(body) {
		i := bytes.Index(body[from:], []byte(attr))
		if i < 0 {
			return nil, len(body)
		}
		i += from
		start := bytes.LastIndexByte(body[:i], '<')
		gt := bytes.IndexByte(body[i:], '>')
		if gt < 0 {
			return nil, len(body)
		}
		end = i + gt + 1
		// The attribute must stand in this tag, whole: preceded by a space, not inside
		// another attribute's value or a longer name.
		if start >= 0 && bytes.IndexByte(body[start+1:i], '>') < 0 && body[i-1] == ' ' &&
			bytes.HasPrefix(body[start:], []byte(open)) {
			return body[start:end], end
		}
		from = i + len(attr)
	}
	return nil, len(body)
}

// attrOf is the raw value of the attribute name in a tag ("" when it has none).
func attrOf(tag []byte, name string) (string, bool) {
	key := []byte(" " + name + `="`)
	i := bytes.Index(tag, key)
	if i < 0 {
		return "", false
	}
	v := tag[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return "", false
	}
	return string(v[:j]), true
}

// sectionRow is the section's table row in body, from its <tr> to its </tr>; nil when the
// body has none.
func sectionRow(body []byte, sec int64) []byte {
	id := ` data-section-id="` + strconv.FormatInt(sec, 10) + `"`
	for from := 0; ; {
		tag, end := tagWith(body, from, "tr", id[1:])
		if tag == nil {
			return nil
		}
		if v, _ := attrOf(tag, "data-testid"); v == "section-row" {
			n := bytes.Index(body[end:], []byte("</tr>"))
			if n < 0 {
				return nil
			}
			return body[end-len(tag) : end+n]
		}
		from = end
	}
}

// testIDs lists the data-section-id of every element of the kind given (elem) marked
// data-testid=testid in body.
func testIDs(body []byte, elem, testid string) []string {
	var ids []string
	for from := 0; ; {
		tag, end := tagWith(body, from, elem, `data-testid="`+testid+`"`)
		if tag == nil {
			return ids
		}
		if id, ok := attrOf(tag, "data-section-id"); ok {
			ids = append(ids, id)
		}
		from = end
	}
}
