package adminapi

func (h *Handler) adminRoutes() []route {
	return nil
}
