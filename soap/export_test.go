package soap

import "github.com/equus/sogateway/mappings"

// SSP7Contract returns the contract the shipped ssp7 mapping serves (its
// soap: section, read by ContractOf as the binary does): the one the tests
// and the example run against. Production has no built-in contract; every
// one comes from a mapping.
func SSP7Contract() Contract {
	m, err := mappings.LoadFile("../mappings/ssp7/ssp7.yaml")
	if err != nil {
		panic(err)
	}
	return ContractOf(m.Spec().SOAP)
}
