// Key Vault for the secrets the app cannot avoid (today: the Azure ML endpoint key,
// read through a Key Vault reference in ML_ENDPOINT_KEY). RBAC authorization: the app's
// identity gets Key Vault Secrets User (rbac.bicep), nobody gets access policies.
// Purge protection: a deleted vault or secret cannot be destroyed before retention ends.

param name string
param location string
param tags object = {}

@description('true: public network access disabled; private endpoint in network.bicep.')
param privateNetworking bool = false

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Enabled unless privateNetworking; passed in from main.bicep (an inline ternary crashes checkov CKV_AZURE_189).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // checkov:skip=CKV_AZURE_189:Public access stays on only when privateNetworking=false: App Service resolves Key Vault references from the app's outbound network, which has no fixed IPs without VNet integration. Access is still Entra ID RBAC only.
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      // checkov:skip=CKV_AZURE_109:Firewall default Allow only when privateNetworking=false, for the same reason (Key Vault references from a Flex app without fixed outbound IPs); Deny with privateNetworking=true.
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
