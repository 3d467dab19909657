// Storage account of the Functions host (AzureWebJobsStorage) and of the Flex Consumption
// deployment package. Only the host and the deployment use it; the images live in their
// own account (storage-images.bicep) so that the app's data-plane grants never cover the
// host's secrets container (azure-webjobs-secrets), and vice versa.

param name string
param location string
param tags object = {}

@description('Blob container that holds the deployment package Flex Consumption runs from.')
param deploymentContainerName string

@description('Blob container of the app\'s own small state in host storage (the reconcile timer\'s continuation token).')
param stateContainerName string

@description('true: no public endpoint, reached through private endpoints (network.bicep).')
param privateNetworking bool = false

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206:Host state (keys, leases, blob receipts) and the deployment package are re-creatable by a redeploy; geo-replication would only double the cost.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Flex Consumption runs the host and the deployment with the managed identity,
    // so no account key is needed anywhere: turn shared-key (and SAS) auth off.
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      // checkov:skip=CKV_AZURE_35:Allow only when privateNetworking=false: Flex Consumption without VNet integration has no fixed outbound IPs to allow-list. With privateNetworking=true the public endpoint is disabled.
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table

// The reconcile timer's state blob (functions/reconcile.py binds it through AzureWebJobsStorage).
resource stateContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stateContainerName
  properties: {
    publicAccess: 'None'
  }
}
