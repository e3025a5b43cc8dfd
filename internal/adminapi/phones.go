package adminapi

func (h *Handler) phoneRoutes() []route {
	return nil
}
