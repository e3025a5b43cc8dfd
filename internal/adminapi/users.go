package adminapi

func (h *Handler) userRoutes() []route {
	return nil
}
