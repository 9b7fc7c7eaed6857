package kubeapi

// NetworkError is networkError, for the tests.
var NetworkError = networkError

// Pid is the process id of the server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// FindOrBuild is findOrBuild, without Binary's once.
var FindOrBuild = findOrBuild
