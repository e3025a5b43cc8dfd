package adminapi

func (h *Handler) tokenRoutes() []route {
	return nil
}
