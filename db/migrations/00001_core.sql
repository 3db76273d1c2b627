-- +goose Up
CREATE TABLE departments (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code VARCHAR(16) NOT NULL,
    name VARCHAR(200) NOT NULL,
    UNIQUE KEY departments_code (code)
) ENGINE=InnoDB;

-- Users are synced from the directory at login (and by the seed); the directory stays the
-- one account source, this row carries what registration needs.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(64) NOT NULL,
    student_number VARCHAR(32) NULL,
    display_name VARCHAR(200) NOT NULL,
    email VARCHAR(254) NOT NULL DEFAULT '',
    role ENUM('student', 'staff', 'admin') NOT NULL,
    department_id BIGINT NULL,
    class_year TINYINT NULL,
    credit_limit SMALLINT NOT NULL DEFAULT 18,
    last_login_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    UNIQUE KEY users_username (username),
    UNIQUE KEY users_student_number (student_number),
    CONSTRAINT users_department FOREIGN KEY (department_id) REFERENCES departments (id),
    CONSTRAINT users_class_year CHECK (class_year IS NULL OR class_year BETWEEN 1 AND 6),
    CONSTRAINT users_credit_limit CHECK (credit_limit BETWEEN 0 AND 40)
) ENGINE=InnoDB;

CREATE TABLE terms (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code VARCHAR(16) NOT NULL,
    name VARCHAR(100) NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE KEY terms_code (code),
    CONSTRAINT terms_dates CHECK (starts_on < ends_on)
) ENGINE=InnoDB;

CREATE TABLE courses (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    department_id BIGINT NOT NULL,
    code VARCHAR(16) NOT NULL,
    title VARCHAR(200) NOT NULL,
    credits TINYINT NOT NULL,
    description TEXT NOT NULL,
    UNIQUE KEY courses_code (code),
    KEY courses_department (department_id),
    CONSTRAINT courses_department FOREIGN KEY (department_id) REFERENCES departments (id),
    CONSTRAINT courses_credits CHECK (credits BETWEEN 0 AND 12)
) ENGINE=InnoDB;

CREATE TABLE course_prerequisites (
    course_id BIGINT NOT NULL,
    prerequisite_id BIGINT NOT NULL,
    PRIMARY KEY (course_id, prerequisite_id),
    CONSTRAINT course_prerequisites_course FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT course_prerequisites_prerequisite FOREIGN KEY (prerequisite_id) REFERENCES courses (id),
    CONSTRAINT course_prerequisites_not_self CHECK (course_id <> prerequisite_id)
) ENGINE=InnoDB;

-- enrolled is maintained by the registration transaction; the CHECK is the database's own
-- refusal to oversell should any code path get it wrong.
CREATE TABLE sections (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    course_id BIGINT NOT NULL,
    term_id BIGINT NOT NULL,
    number VARCHAR(8) NOT NULL,
    instructor VARCHAR(200) NOT NULL DEFAULT '',
    room VARCHAR(64) NOT NULL DEFAULT '',
    capacity INT NOT NULL,
    enrolled INT NOT NULL DEFAULT 0,
    UNIQUE KEY sections_course_term_number (course_id, term_id, number),
    KEY sections_term (term_id),
    CONSTRAINT sections_course FOREIGN KEY (course_id) REFERENCES courses (id),
    CONSTRAINT sections_term FOREIGN KEY (term_id) REFERENCES terms (id),
    CONSTRAINT sections_capacity CHECK (capacity >= 0),
    CONSTRAINT sections_enrolled CHECK (enrolled >= 0 AND enrolled <= capacity)
) ENGINE=InnoDB;

-- weekday: 1 = Monday … 7 = Sunday (ISO 8601). Times are minutes after midnight, which
-- keeps overlap checks plain integer comparisons.
CREATE TABLE section_meetings (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    section_id BIGINT NOT NULL,
    weekday TINYINT NOT NULL,
    start_minute SMALLINT NOT NULL,
    end_minute SMALLINT NOT NULL,
    KEY section_meetings_section (section_id),
    CONSTRAINT section_meetings_section FOREIGN KEY (section_id) REFERENCES sections (id) ON DELETE CASCADE,
    CONSTRAINT section_meetings_weekday CHECK (weekday BETWEEN 1 AND 7),
    CONSTRAINT section_meetings_times CHECK (0 <= start_minute AND start_minute < end_minute AND end_minute <= 1440)
) ENGINE=InnoDB;

-- Courses a student has passed, for prerequisite checks.
CREATE TABLE completed_courses (
    user_id BIGINT NOT NULL,
    course_id BIGINT NOT NULL,
    term_code VARCHAR(16) NOT NULL,
    grade VARCHAR(4) NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, course_id),
    CONSTRAINT completed_courses_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT completed_courses_course FOREIGN KEY (course_id) REFERENCES courses (id)
) ENGINE=InnoDB;

-- Failed logins per account, shared by every replica, so guessing is throttled wherever it
-- lands.
CREATE TABLE login_failures (
    username VARCHAR(64) NOT NULL PRIMARY KEY,
    failures INT NOT NULL,
    window_started_at DATETIME(6) NOT NULL,
    locked_until DATETIME(6) NULL
) ENGINE=InnoDB;

-- The scs mysqlstore table: a login is valid on every replica.
CREATE TABLE sessions (
    token CHAR(43) NOT NULL PRIMARY KEY,
    data BLOB NOT NULL,
    expiry TIMESTAMP(6) NOT NULL,
    KEY sessions_expiry (expiry)
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE sessions;
DROP TABLE login_failures;
DROP TABLE completed_courses;
DROP TABLE section_meetings;
DROP TABLE sections;
DROP TABLE course_prerequisites;
DROP TABLE courses;
DROP TABLE terms;
DROP TABLE users;
DROP TABLE departments;
