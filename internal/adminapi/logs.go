package adminapi

func (h *Handler) logRoutes() []route {
	return nil
}
