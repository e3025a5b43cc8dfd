package sqlstore

// GroupCommitStats reports how many transactions the group committer ran
// and how many ApplyAuth units they carried (0, 0 without group commit).
func GroupCommitStats(s *Store) (groups, units int64) {
	if s.gc == nil {
		return 0, 0
	}
	return s.gc.groups.Load(), s.gc.units.Load()
}
