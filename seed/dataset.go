// Package seed builds the demo dataset: a school's departments, courses with
// prerequisites, a term's sections with meeting times, and students, staff and an admin,
// written to MySQL and to the directory alike.
package seed

import (
	"fmt"
	"math/rand/v2"
)

// Sizes says how big a school to build.
type Sizes struct {
	Students int
	Sections int
	Staff    int
}

// Dataset is a generated school, before it is written anywhere.
type Dataset struct {
	Departments []Department
	Courses     []Course
	Sections    []Section
	People      []Person
}

type Department struct {
	Code, Name string
	topics     []string
}

type Course struct {
	Dept          int // index into Departments
	Code, Title   string
	Credits       int
	Level         int // 1 to 4
	Prerequisites []int
	// The Korean title and the registrar's facts (korean.go).
	TitleKo      string
	Type         string // 이수구분, one of catalogcsv.CourseTypes
	Year         int    // the year it is meant for, 0 for any
	OpenToOthers bool
	Description  string
	SyllabusURL  string
}

type Section struct {
	Course     int // index into Courses
	Number     string
	Instructor string
	Room       string
	Capacity   int
	Meetings   []Meeting
}

type Meeting struct{ Weekday, Start, End int }

// Person is a directory account.
type Person struct {
	Username      string
	Given, Family string
	Role          string // student, staff or admin
	Dept          int    // index into Departments; -1 for none
	StudentNumber string
	ClassYear     int
	Completed     []int // course indexes passed in earlier terms
}

func (p Person) DisplayName() string { return p.Given + " " + p.Family }

var departments = []Department{
	{"CS", "Computer Science", []string{"Programming", "Data Structures", "Algorithms", "Operating Systems", "Databases", "Computer Networks", "Compilers", "Machine Learning", "Computer Graphics", "Software Engineering", "Distributed Systems", "Security"}},
	{"EE", "Electrical Engineering", []string{"Circuits", "Signals and Systems", "Electronics", "Electromagnetics", "Control Systems", "Digital Logic", "Power Systems", "Communications", "Semiconductor Devices", "Embedded Systems"}},
	{"ME", "Mechanical Engineering", []string{"Statics", "Dynamics", "Thermodynamics", "Fluid Mechanics", "Heat Transfer", "Machine Design", "Materials", "Robotics", "Vibrations", "Manufacturing"}},
	{"MATH", "Mathematics", []string{"Calculus", "Linear Algebra", "Differential Equations", "Discrete Mathematics", "Probability", "Real Analysis", "Abstract Algebra", "Topology", "Numerical Analysis", "Statistics"}},
	{"PHYS", "Physics", []string{"Mechanics", "Electricity and Magnetism", "Waves and Optics", "Modern Physics", "Quantum Mechanics", "Statistical Physics", "Astrophysics", "Solid State Physics"}},
	{"CHEM", "Chemistry", []string{"General Chemistry", "Organic Chemistry", "Physical Chemistry", "Analytical Chemistry", "Inorganic Chemistry", "Biochemistry", "Polymer Chemistry"}},
	{"BIO", "Biology", []string{"Cell Biology", "Genetics", "Ecology", "Microbiology", "Physiology", "Evolution", "Neuroscience", "Molecular Biology"}},
	{"ECON", "Economics", []string{"Microeconomics", "Macroeconomics", "Econometrics", "Labor Economics", "Public Finance", "International Trade", "Game Theory", "Development Economics"}},
	{"BUS", "Business Administration", []string{"Accounting", "Finance", "Marketing", "Operations", "Organizational Behavior", "Strategy", "Business Law", "Entrepreneurship"}},
	{"KOR", "Korean Language and Literature", []string{"Korean Grammar", "Classical Korean Literature", "Modern Korean Fiction", "Korean Poetry", "Korean Linguistics", "Writing"}},
	{"ENG", "English Language and Literature", []string{"Composition", "British Literature", "American Literature", "Shakespeare", "Linguistics", "Creative Writing", "Literary Theory"}},
	{"HIST", "History", []string{"Korean History", "East Asian History", "European History", "World History", "Modern History", "Historiography"}},
	{"PSY", "Psychology", []string{"Psychology", "Cognitive Psychology", "Developmental Psychology", "Social Psychology", "Research Methods", "Clinical Psychology"}},
	{"ART", "Fine Arts", []string{"Drawing", "Painting", "Sculpture", "Art History", "Design", "Photography"}},
	{"MUS", "Music", []string{"Music Theory", "Music History", "Ear Training", "Composition", "Conducting", "Ensemble"}},
	{"ARCH", "Architecture", []string{"Architectural Design", "Building Technology", "Architectural History", "Urban Design", "Structures"}},
}

var (
	familyNames = []string{"Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh", "Seo", "Shin", "Kwon", "Hwang", "Ahn", "Song", "Yoo", "Hong", "Jeon", "Ko", "Moon", "Yang", "Son", "Bae", "Baek", "Heo", "Nam", "Noh"}
	givenNames  = []string{"Minjun", "Seoyeon", "Jiho", "Hayoon", "Doyun", "Jiwoo", "Eunwoo", "Seojun", "Yerin", "Harin", "Siwoo", "Jiyu", "Juwon", "Chaewon", "Hyunwoo", "Sua", "Taeyang", "Dahyun", "Yejun", "Soyul", "Jimin", "Yuna", "Donghyun", "Minseo", "Junseo", "Eunji", "Sungmin", "Hyejin", "Woojin", "Nayeon", "Daniel", "Sophia", "Ethan", "Mia"}
	levelWords  = []string{"Introduction to %s", "%s II", "Intermediate %s", "Advanced %s", "Topics in %s", "Seminar in %s"}
	buildings   = []string{"ENG", "SCI", "HUM", "BUS", "ART", "LIB", "MED", "LAW"}
)

// Generate builds a dataset of the given sizes; the same seed gives the same school.
func Generate(sizes Sizes, seed uint64) Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x5c4001))
	ds := Dataset{Departments: departments}

	// About two sections per course, at least one course per department.
	nCourses := max(len(departments), sizes.Sections/2)
	perLevel := make(map[[2]int][]int) // (dept, level) -> course indexes
	for i := range nCourses {
		d := i % len(departments)
		n := i / len(departments) // the course's rank within its department
		level := 1 + min(3, n*4/max(1, nCourses/len(departments)))
		topic := departments[d].topics[n%len(departments[d].topics)]
		variant := n / len(departments[d].topics)
		title := fmt.Sprintf(levelWords[(level-1+variant)%len(levelWords)], topic)
		if variant >= len(levelWords) {
			title += fmt.Sprintf(" %d", variant/len(levelWords)+1)
		}
		c := Course{
			Dept:    d,
			Code:    fmt.Sprintf("%s%d%02d", departments[d].Code, level, n%100),
			Title:   title,
			Credits: []int{3, 3, 3, 3, 3, 2, 1, 4}[rng.IntN(8)],
			Level:   level,
		}
		if lower := perLevel[[2]int{d, level - 1}]; len(lower) > 0 && rng.IntN(2) == 0 {
			c.Prerequisites = []int{lower[rng.IntN(len(lower))]}
		}
		perLevel[[2]int{d, level}] = append(perLevel[[2]int{d, level}], len(ds.Courses))
		ds.Courses = append(ds.Courses, c)
	}
	// Course codes must be unique; a department with over 100 courses per level would
	// repeat one, so number those on.
	seen := map[string]bool{}
	for i := range ds.Courses {
		for seen[ds.Courses[i].Code] {
			ds.Courses[i].Code += "X"
		}
		seen[ds.Courses[i].Code] = true
	}

	koreanDetails(&ds, seed)

	instructors := make([]string, max(20, sizes.Sections/4))
	for i := range instructors {
		instructors[i] = "Prof. " + givenNames[rng.IntN(len(givenNames))] + " " + familyNames[rng.IntN(len(familyNames))]
	}
	perCourse := map[int]int{}
	for i := range sizes.Sections {
		ci := i % len(ds.Courses)
		perCourse[ci]++
		ds.Sections = append(ds.Sections, Section{
			Course:     ci,
			Number:     fmt.Sprintf("%02d", perCourse[ci]),
			Instructor: instructors[rng.IntN(len(instructors))],
			Room:       fmt.Sprintf("%s-%d%02d", buildings[rng.IntN(len(buildings))], 1+rng.IntN(5), 1+rng.IntN(30)),
			Capacity:   []int{20, 25, 30, 30, 40, 40, 50, 60, 80, 120}[rng.IntN(10)],
			Meetings:   meetings(rng, ds.Courses[ci].Credits),
		})
	}

	for i := range sizes.Students {
		year := 1 + i%4
		p := Person{
			Username:      fmt.Sprintf("stu%05d", i+1),
			Given:         givenNames[rng.IntN(len(givenNames))],
			Family:        familyNames[rng.IntN(len(familyNames))],
			Role:          "student",
			Dept:          rng.IntN(len(departments)),
			StudentNumber: fmt.Sprintf("%d%05d", 2027-year, i+1),
			ClassYear:     year,
		}
		// Earlier years passed some of their department's lower-level courses.
		for level := 1; level < year; level++ {
			for _, ci := range perLevel[[2]int{p.Dept, level}] {
				if rng.IntN(3) == 0 {
					p.Completed = append(p.Completed, ci)
				}
			}
		}
		ds.People = append(ds.People, p)
	}
	for i := range sizes.Staff {
		ds.People = append(ds.People, Person{
			Username: fmt.Sprintf("staff%02d", i+1),
			Given:    givenNames[rng.IntN(len(givenNames))],
			Family:   familyNames[rng.IntN(len(familyNames))],
			Role:     "staff",
			Dept:     -1,
		})
	}
	ds.People = append(ds.People, Person{Username: "admin", Given: "Registrar", Family: "Admin", Role: "admin", Dept: -1})
	return ds
}

// meetings lays out a week: three-credit courses twice a week for 75 minutes, others in
// one block of 50 minutes per credit, on the hour or half hour between 9:00 and 18:00.
func meetings(rng *rand.Rand, credits int) []Meeting {
	length := 50 * max(1, credits)
	if credits == 3 {
		length = 75
	}
	start := 9*60 + 90*rng.IntN((9*60-length)/90+1)
	if credits == 3 {
		days := [][2]int{{1, 3}, {2, 4}, {3, 5}}[rng.IntN(3)]
		return []Meeting{{days[0], start, start + length}, {days[1], start, start + length}}
	}
	return []Meeting{{1 + rng.IntN(5), start, start + length}}
}
