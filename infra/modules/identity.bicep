// The app's user-assigned managed identity.
// User-assigned (not system-assigned) so that every role assignment exists before the
// Function App is created: the host's first start already finds its storage, queue and
// Cosmos permissions, and recreating the app does not orphan its grants.

@description('Name of the user-assigned managed identity.')
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
