package adminapi

func (h *Handler) integrationRoutes() []route {
	return nil
}
