package adminapi

func (h *Handler) settingsRoutes() []route {
	return nil
}
