package adminapi

func (h *Handler) bypassRoutes() []route {
	return nil
}
