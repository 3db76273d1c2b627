package web

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// Quick registration (과목번호-분반 직접 입력) takes at most maxQuickCodes codes, more than
// any student's term, in at most maxQuickLength characters.
const (
	maxQuickCodes  = 10
	maxQuickLength = 400
	// maxQuickKeyLen leaves room in a registration key for ":" and a section id.
	maxQuickKeyLen = registration.MaxKeyLen - 21
)

// quickCode is one code as the student typed it, and the section label it names ("" when
// it is not a section code at all).
type quickCode struct {
	typed, label string
}

// parseQuickCodes splits what the field holds on spaces, commas, semicolons and new
// lines, and reads each part as a section label: letters in upper case, full-width
// characters (a Korean keyboard's) as their ASCII twins, any dash as a hyphen. The
// message is the field's problem, when it has one; the codes are then not to be sent.
func parseQuickCodes(v string) ([]quickCode, views.Message) {
	if utf8.RuneCountInString(v) > maxQuickLength {
		return nil, views.Msg("quick.err.too_long", maxQuickLength)
	}
	parts := strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == '，' || r == '、' || r == ' ' || r == '\u3000' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(parts) == 0 {
		return nil, views.Msg("quick.err.empty")
	}
	if len(parts) > maxQuickCodes {
		return nil, views.Msg("quick.err.too_many", maxQuickCodes)
	}
	codes := make([]quickCode, len(parts))
	for i, p := range parts {
		codes[i] = quickCode{typed: p, label: sectionLabel(p)}
	}
	return codes, views.Message{}
}

// sectionLabel normalises a typed section code ("cs101－01" is "CS101-01"), or returns ""
// when it cannot be one: a course code, a hyphen, a section number, in letters, digits
// and hyphens.
func sectionLabel(typed string) string {
	label := strings.Map(func(r rune) rune {
		switch {
		case r >= '！' && r <= '～': // full width
			r -= '！' - '!'
		case r == '‐' || r == '‑' || r == '‒' || r == '–' || r == '—' || r == '−':
			r = '-'
		}
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return utf8.RuneError
	}, typed)
	if strings.ContainsRune(label, utf8.RuneError) || len(label) > 40 ||
		strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") || !strings.Contains(label, "-") {
		return ""
	}
	return label
}

// quickRegister registers each typed code's section through the same registration call
// as the Register button of its row, behind the same gate (routes.go), and answers one
// line per code, in the order typed, with the message the button would have given.
// Each code's request is idempotent under the form's key and its section, so a form sent
// twice registers nothing twice.
func (s *Server) quickRegister(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	ctx := r.Context()
	raw := r.PostFormValue("codes")
	key := r.PostFormValue("request_key")
	q := views.QuickRegister{Codes: raw, RequestKey: rand.Text(), MaxCodes: maxQuickCodes, MaxLength: maxQuickLength}
	codes, msg := parseQuickCodes(raw)
	if msg.Key == "" && len(key) > maxQuickKeyLen {
		msg = views.Msg("result.key_reused")
	}
	if msg.Key != "" {
		answerResult(w, r, registration.Invalid)
		q.Error = msg
		s.render(w, r, http.StatusBadRequest, views.QuickRegisterPage(q), views.QuickAnswer(q, nil))
		return
	}
	// Codes are looked up in this replica's catalog; a code it does not know (a section
	// added within the poll) is looked up again in a fresh one before it is called unknown.
	cat, fresh := s.reg.Catalog(), false
	lookup := func(label string) (registration.Section, bool, error) {
		if cat != nil {
			if sec, ok := cat.SectionByLabel(label); ok || fresh {
				return sec, ok, nil
			}
		}
		var err error
		if cat, err = s.reg.FreshCatalog(ctx); err != nil {
			return registration.Section{}, false, err
		}
		fresh = true
		sec, ok := cat.SectionByLabel(label)
		return sec, ok, nil
	}
	seen := map[string]bool{}
	// The header's credits come from the last answer that read them under the student's
	// lock, as a click's do: no query after the registrations.
	var credits *views.Credits
	tried := 0
	for _, c := range codes {
		var res views.QuickResult
		switch {
		case c.label == "":
			res = views.QuickResult{Code: c.typed, Result: "bad_code", Message: views.Msg("quick.bad_code", c.typed), Refused: true}
		case seen[c.label]:
			res = views.QuickResult{Code: c.label, Result: "repeated", Message: views.Msg("quick.repeated", c.label)}
		default:
			sec, found, err := lookup(c.label)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			if !found {
				res = views.QuickResult{Code: c.label, Result: "unknown", Message: views.Msg("quick.unknown", c.label), Refused: true}
				break
			}
			// The gate took the form's token for its first section; every further one takes
			// its own, as its click would. Typed codes must be no faster a way to keep
			// trying full sections than clicking: that is what a macro would use them for.
			if tried > 0 && !s.limits.allow(u.ID, s.now()) {
				res = views.QuickResult{Code: c.label, Result: string(registration.RateLimited), Message: views.Msg("quick.too_fast", c.label), Refused: true}
				break
			}
			tried++
			out, err := s.reg.Register(ctx, registration.Request{StudentID: u.ID, SectionID: sec.ID, Key: quickKey(key, sec.ID)})
			if errors.Is(err, registration.ErrNotStudent) {
				s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("result.students_only"))
				return
			}
			if err != nil {
				// What was registered stays so; the same form sent again is answered, not
				// applied twice.
				s.serverError(w, r, err)
				return
			}
			s.stats.count(out.Result)
			if out.CreditsKnown {
				credits = &views.Credits{Used: out.CreditsUsed, Limit: out.CreditLimit}
			}
			res = quickResult(out, sec.ID, c.label)
		}
		if c.label != "" {
			seen[c.label] = true
		}
		q.Results = append(q.Results, res)
	}
	s.render(w, r, http.StatusOK, views.QuickRegisterPage(q), views.QuickAnswer(q, credits))
}

// quickResult is a code's line: the click's message, and for a full section the click's
// next step, its waitlist.
func quickResult(out registration.Outcome, id int64, label string) views.QuickResult {
	res := views.QuickResult{Code: label, SectionID: id, Result: string(out.Result), Refused: out.Result.Refused()}
	switch out.Result {
	case registration.NotFound:
		// Deleted since the catalog named it.
		res.Result, res.Message = "unknown", views.Msg("quick.unknown", label)
	case registration.Full:
		res.Message, res.WaitlistKey = resultMessage(out, label), rand.Text()
	default:
		res.Message = resultMessage(out, label)
	}
	return res
}

// quickKey is the registration key of one code of a quick registration: the form's key
// and the section, so each section is its own idempotent request. No form key, no key.
func quickKey(formKey string, sectionID int64) string {
	if formKey == "" {
		return ""
	}
	return formKey + ":" + strconv.FormatInt(sectionID, 10)
}

// quickParam carries typed codes in the catalog's address: the waiting room, turning a
// quick registration away, keeps the page it came from with the codes in it, so after
// admission they are back in the field, one Enter from being sent.
const quickParam = "codes"

// withQuickCodes is page with the codes in its query; page alone when there are none,
// or more than the field takes.
func withQuickCodes(page, codes string) string {
	codes = strings.TrimSpace(codes)
	u, err := url.Parse(page)
	if codes == "" || utf8.RuneCountInString(codes) > maxQuickLength || err != nil {
		return page
	}
	q := u.Query()
	q.Set(quickParam, codes)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// quickForm is the field as the catalog offers it, with the codes its address carries.
func quickForm(r *http.Request) *views.QuickRegister {
	q := &views.QuickRegister{RequestKey: rand.Text(), MaxCodes: maxQuickCodes, MaxLength: maxQuickLength}
	if codes := r.URL.Query().Get(quickParam); utf8.RuneCountInString(codes) <= maxQuickLength {
		q.Codes = codes
	}
	return q
}
