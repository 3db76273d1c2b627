package catalogcsv

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// The course facts a Korean registrar keeps beside the code, title and credits: the
// course type (이수구분), the year it is meant for (대상학년), whether other departments'
// students may take it (타과 수강 가능), a description and a syllabus (강의계획서) link. The
// staff forms check them with the same functions as the files, so a value one accepts the
// other does too.

// CourseTypes are the course types (이수구분) in the order a registrar lists them; the
// database's CHECK holds the same list. "" is a course whose type is not set.
var CourseTypes = []string{
	"major_required",   // 전공필수
	"major_elective",   // 전공선택
	"general_required", // 교양필수
	"general_elective", // 교양선택
	"free_elective",    // 일반선택
	"teacher_training", // 교직
}

// courseTypeNames are the other spellings a file or a form may use for a type: the Korean
// names registrars write, and their usual short forms.
var courseTypeNames = map[string]string{
	"전공필수": "major_required", "전필": "major_required",
	"전공선택": "major_elective", "전선": "major_elective",
	"교양필수": "general_required", "교필": "general_required",
	"교양선택": "general_elective", "교선": "general_elective", "교양": "general_elective",
	"일반선택": "free_elective", "일선": "free_elective",
	"교직": "teacher_training",
}

// ParseCourseType reads a course type: one of CourseTypes (any case), a Korean name such
// as 전공필수, or "" for none.
func ParseCourseType(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	if t, ok := courseTypeNames[v]; ok {
		return t, true
	}
	for _, t := range CourseTypes {
		if strings.EqualFold(v, t) {
			return t, true
		}
	}
	return "", false
}

// ParseYesNo reads a flag as spreadsheets and registrars write it.
func ParseYesNo(v string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "1", "o", "예", "가능":
		return true, true
	case "n", "no", "false", "0", "x", "아니오", "불가":
		return false, true
	}
	return false, false
}

// MaxSyllabusURL is the longest syllabus link the database keeps.
const MaxSyllabusURL = 500

// CheckSyllabusURL accepts "" or an absolute http or https address with a host: a link
// students follow from the course page, so no javascript:, data: or relative address.
func CheckSyllabusURL(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	if utf8.RuneCountInString(v) > MaxSyllabusURL || strings.ContainsAny(v, " \t\r\n\"'<>\\") {
		return "", false
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	return u.String(), true
}
