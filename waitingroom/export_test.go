package waitingroom

// SetBeforeJoinCommit holds joins' commits back in tests (see Room.beforeJoinCommit).
func (r *Room) SetBeforeJoinCommit(f func()) { r.beforeJoinCommit = f }
