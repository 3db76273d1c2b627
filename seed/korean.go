package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// What a Korean registrar keeps of each course beyond its code, title and credits: the
// Korean names of departments, courses and terms, 이수구분, the year a course is meant
// for, whether other departments' students may take it, a description and a syllabus
// link (issue 18). They are drawn from a generator of their own, so the rest of the
// dataset is the same school it always was for a seed.

// TermNamesKo are the Korean names of the demo's terms, by code.
var TermNamesKo = map[string]string{"2027-1": "2027학년도 1학기", "2026-2": "2026학년도 2학기"}

var departmentNamesKo = map[string]string{
	"CS": "컴퓨터공학과", "EE": "전기공학과", "ME": "기계공학과", "MATH": "수학과", "PHYS": "물리학과",
	"CHEM": "화학과", "BIO": "생명과학과", "ECON": "경제학과", "BUS": "경영학과", "KOR": "국어국문학과",
	"ENG": "영어영문학과", "HIST": "사학과", "PSY": "심리학과", "ART": "미술학과", "MUS": "음악학과", "ARCH": "건축학과",
}

// DepartmentNameKo is the Korean name of the demo department code.
func DepartmentNameKo(code string) string { return departmentNamesKo[code] }

var topicsKo = map[string]string{
	"Programming": "프로그래밍", "Data Structures": "자료구조", "Algorithms": "알고리즘", "Operating Systems": "운영체제",
	"Databases": "데이터베이스", "Computer Networks": "컴퓨터네트워크", "Compilers": "컴파일러", "Machine Learning": "기계학습",
	"Computer Graphics": "컴퓨터그래픽스", "Software Engineering": "소프트웨어공학", "Distributed Systems": "분산시스템", "Security": "정보보호",
	"Circuits": "회로이론", "Signals and Systems": "신호및시스템", "Electronics": "전자회로", "Electromagnetics": "전자기학",
	"Control Systems": "제어공학", "Digital Logic": "디지털논리회로", "Power Systems": "전력공학", "Communications": "통신이론",
	"Semiconductor Devices": "반도체소자", "Embedded Systems": "임베디드시스템",
	"Statics": "정역학", "Dynamics": "동역학", "Thermodynamics": "열역학", "Fluid Mechanics": "유체역학", "Heat Transfer": "열전달",
	"Machine Design": "기계설계", "Materials": "재료역학", "Robotics": "로봇공학", "Vibrations": "기계진동", "Manufacturing": "생산공학",
	"Calculus": "미적분학", "Linear Algebra": "선형대수학", "Differential Equations": "미분방정식", "Discrete Mathematics": "이산수학",
	"Probability": "확률론", "Real Analysis": "해석학", "Abstract Algebra": "현대대수학", "Topology": "위상수학",
	"Numerical Analysis": "수치해석", "Statistics": "통계학",
	"Mechanics": "역학", "Electricity and Magnetism": "전자기학", "Waves and Optics": "파동과 광학", "Modern Physics": "현대물리학",
	"Quantum Mechanics": "양자역학", "Statistical Physics": "통계물리학", "Astrophysics": "천체물리학", "Solid State Physics": "고체물리학",
	"General Chemistry": "일반화학", "Organic Chemistry": "유기화학", "Physical Chemistry": "물리화학", "Analytical Chemistry": "분석화학",
	"Inorganic Chemistry": "무기화학", "Biochemistry": "생화학", "Polymer Chemistry": "고분자화학",
	"Cell Biology": "세포생물학", "Genetics": "유전학", "Ecology": "생태학", "Microbiology": "미생물학", "Physiology": "생리학",
	"Evolution": "진화생물학", "Neuroscience": "신경과학", "Molecular Biology": "분자생물학",
	"Microeconomics": "미시경제학", "Macroeconomics": "거시경제학", "Econometrics": "계량경제학", "Labor Economics": "노동경제학",
	"Public Finance": "재정학", "International Trade": "국제무역론", "Game Theory": "게임이론", "Development Economics": "경제발전론",
	"Accounting": "회계원리", "Finance": "재무관리", "Marketing": "마케팅", "Operations": "생산운영관리",
	"Organizational Behavior": "조직행동론", "Strategy": "경영전략", "Business Law": "경영법", "Entrepreneurship": "창업론",
	"Korean Grammar": "국어문법론", "Classical Korean Literature": "고전문학", "Modern Korean Fiction": "현대소설론",
	"Korean Poetry": "현대시론", "Korean Linguistics": "국어학", "Writing": "글쓰기",
	"Composition": "영작문", "British Literature": "영국문학", "American Literature": "미국문학", "Shakespeare": "셰익스피어",
	"Linguistics": "영어학", "Creative Writing": "창작", "Literary Theory": "문학이론",
	"Korean History": "한국사", "East Asian History": "동양사", "European History": "서양사", "World History": "세계사",
	"Modern History": "근현대사", "Historiography": "사학사",
	"Psychology": "심리학", "Cognitive Psychology": "인지심리학", "Developmental Psychology": "발달심리학",
	"Social Psychology": "사회심리학", "Research Methods": "연구방법론", "Clinical Psychology": "임상심리학",
	"Drawing": "드로잉", "Painting": "회화", "Sculpture": "조소", "Art History": "미술사", "Design": "디자인", "Photography": "사진",
	"Music Theory": "음악이론", "Music History": "음악사", "Ear Training": "시창청음", "Conducting": "지휘법", "Ensemble": "앙상블",
	"Architectural Design": "건축설계", "Building Technology": "건축기술", "Architectural History": "건축사",
	"Urban Design": "도시설계", "Structures": "건축구조",
}

// levelWordsKo are levelWords in Korean, in the same order.
var levelWordsKo = []string{"%s 입문", "%s 2", "중급 %s", "고급 %s", "%s 특강", "%s 세미나"}

// teachingDepartments offer 교직 (teacher training) courses, as colleges with a teachers'
// track do.
var teachingDepartments = map[string]bool{"KOR": true, "ENG": true, "MATH": true, "HIST": true}

// koreanDetails fills in the Korean title and the registrar's facts of every course.
func koreanDetails(ds *Dataset, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x18c0de))
	for i := range ds.Courses {
		c := &ds.Courses[i]
		d := ds.Departments[c.Dept]
		c.TitleKo = titleKo(c.Title)
		switch r := rng.IntN(100); {
		case c.Level == 1 && r < 25:
			c.Type = "general_required"
		case c.Level == 1 && r < 55:
			c.Type = "general_elective"
		case c.Level == 4 && teachingDepartments[d.Code] && r < 15:
			c.Type = "teacher_training"
		case c.Level <= 2 && r < 80 || r < 35:
			c.Type = "major_required"
		case r < 95:
			c.Type = "major_elective"
		default:
			c.Type = "free_elective"
		}
		c.Year = c.Level
		switch c.Type {
		case "general_required", "general_elective", "free_elective":
			c.OpenToOthers, c.Year = true, 0
		case "major_required":
			c.OpenToOthers = rng.IntN(10) < 3
		default:
			c.OpenToOthers = rng.IntN(10) < 8
		}
		c.Description = fmt.Sprintf("%s for year-%d students of %s: lectures, weekly problem sets and a final project.\n%s %d학년 대상 강의입니다. 강의와 주간 과제, 기말 프로젝트로 진행합니다.",
			c.Title, c.Level, d.Name, departmentNamesKo[d.Code], c.Level)
		if c.Year == 0 {
			c.Description = fmt.Sprintf("%s, open to students of every department and year.\n모든 학과, 모든 학년 학생이 들을 수 있는 %s 과목입니다.", c.Title, c.TitleKo)
		}
		if rng.IntN(10) < 7 { // some instructors have not posted theirs yet
			c.SyllabusURL = "https://syllabus.example.ac.kr/" + Term.Code + "/" + strings.ToLower(c.Code)
		}
	}
}

// titleKo is the Korean title of a generated English one: its level words and topic
// translated, a trailing number kept.
func titleKo(title string) string {
	suffix := ""
	if i := strings.LastIndexByte(title, ' '); i > 0 && strings.Trim(title[i+1:], "0123456789") == "" {
		title, suffix = title[:i], title[i:]
	}
	for j, pattern := range levelWords {
		prefix, rest, _ := strings.Cut(pattern, "%s")
		if strings.HasPrefix(title, prefix) && strings.HasSuffix(title, rest) && len(title) > len(prefix)+len(rest) {
			if ko, ok := topicsKo[title[len(prefix):len(title)-len(rest)]]; ok {
				return fmt.Sprintf(levelWordsKo[j], ko) + suffix
			}
		}
	}
	return ""
}
