package views

import "context"

// auditFields names the fields the audit log records (the JSON keys of the entities'
// records, and the Go names of the waiting-room settings, which have no tags).
var auditFields = map[string]struct{ en, ko string }{
	"args":              {"Details", "세부 내용"},
	"blocked":           {"Blocked seats", "사용 불가 좌석"},
	"body":              {"Text", "본문"},
	"capacity":          {"Capacity", "정원"},
	"class_year":        {"Year", "학년"},
	"closes_at":         {"Closes", "종료"},
	"code":              {"Code", "코드"},
	"course":            {"Course", "과목"},
	"credits":           {"Credits", "학점"},
	"current":           {"Current term", "현재 학기"},
	"department":        {"Department", "학과"},
	"description":       {"Description", "설명"},
	"ends_on":           {"Ends", "종료일"},
	"file":              {"File", "파일"},
	"instructor":        {"Instructor", "담당교수"},
	"line":              {"Line", "행"},
	"meetings":          {"Meeting times", "수업 시간"},
	"name":              {"Name", "이름"},
	"new_courses":       {"New courses", "새 과목"},
	"new_sections":      {"New sections", "새 분반"},
	"number":            {"Section", "분반"},
	"opens_at":          {"Opens", "시작"},
	"phase":             {"Phase", "단계"},
	"pinned":            {"Pinned", "상단 고정"},
	"prerequisites":     {"Prerequisites", "선수과목"},
	"published":         {"Published", "게시"},
	"reserve_closes_at": {"Reservations close", "예약 마감"},
	"reserve_opens_at":  {"Reservations open", "예약 시작"},
	"room":              {"Room", "강의실"},
	"rows":              {"Rows", "열"},
	"seat_rows":         {"Seat rows", "좌석 열 수"},
	"seats_per_row":     {"Seats per row", "열당 좌석 수"},
	"section":           {"Section", "분반"},
	"sessions_ended_at": {"Sessions ended", "세션 종료 시각"},
	"source":            {"Source", "경로"},
	"starts_at":         {"Starts", "시작"},
	"starts_on":         {"Starts", "시작일"},
	"student":           {"Student", "학생"},
	"students":          {"Students", "학생 수"},
	"summary":           {"Summary", "요약"},
	"term":              {"Term", "학기"},
	"title":             {"Title", "제목"},
	"updated_courses":   {"Updated courses", "변경된 과목"},
	"updated_sections":  {"Updated sections", "변경된 분반"},
	"username":          {"Username", "아이디"},
	"basket_counts":     {"Basket counts shown", "장바구니 인원 공개"},
	"sections_fitted":   {"Sections fitted", "정원 이내 분반"},
	"sections_over":     {"Sections over demand", "정원 초과 분반"},
	"students_enrolled": {"Students enrolled", "신청된 학생"},
	"enrollments":       {"Seats given", "신청된 좌석"},
	"refusals":          {"Refusals by reason", "거절 사유별 건수"},
	"stopped":           {"Stopped early by", "중단 사유"},
	"venue":             {"Venue", "장소"},
	"waived":            {"Rules waived", "면제된 규칙"},
	"QueueEnabled":      {"Waiting room on", "대기실 사용"},
	"AdmitPerSecond":    {"Admitted per second", "초당 입장"},
	"MaxActive":         {"Registering at once", "동시 신청 인원"},
	"Paused":            {"Paused", "일시 정지"},

	// quotas (issue 18, point 5)
	"quotas":           {"Seat quotas", "좌석 할당"},
	"quota_release_at": {"Quotas open to all at", "할당 해제 시각"},
}

// AuditFieldLabel is a recorded field's name in the reader's language; a field the list
// does not know yet shows as recorded.
func AuditFieldLabel(ctx context.Context, field string) string {
	m, ok := auditFields[field]
	switch {
	case !ok:
		return field
	case LocaleFrom(ctx) == Korean:
		return m.ko
	}
	return m.en
}
