// The images account: uploads -> bronze -> silver (container names come from main.bicep,
// which mirrors shared/settings.py CONTAINERS; tests/infra/test_settings_drift.py checks it).
//
// Lifecycle management keeps storage cost flat as bronze grows:
//   bronze  -> Cool after bronzeCoolAfterDays, Archive after bronzeArchiveAfterDays
//   uploads -> deleted after uploadsDeleteAfterDays (the bytes are already in bronze)
//   Event Grid dead letters -> deleted after deadLetterRetentionDays
// Archive tier exists only on LRS/GRS/RA-GRS accounts, hence the restricted SKU list.

param name string
param location string
param tags object = {}

@description('Containers the app reads and writes (uploads, bronze, silver).')
param containerNames array

@description('Container receiving BlobCreated events that Event Grid could not deliver.')
param deadLetterContainerName string

@description('Upload container name (lifecycle: delete after copy).')
param uploadsContainerName string

@description('Bronze container name (lifecycle: Cool, then Archive).')
param bronzeContainerName string

@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
@description('Bronze is the system of record (uploads are deleted), so GRS by default. Archive tier rules out ZRS/GZRS.')
param skuName string = 'Standard_GRS'

@minValue(1)
param bronzeCoolAfterDays int = 7

@minValue(1)
param bronzeArchiveAfterDays int = 30

@description('Delete uploads this many days after they were written; 0 keeps them. Ingest copies within seconds; the slack is the window to replay an Event Grid dead letter from the original.')
@minValue(0)
param uploadsDeleteAfterDays int = 7

@minValue(1)
param deadLetterRetentionDays int = 30

@description('true: no public endpoint, reached through private endpoints (network.bicep).')
param privateNetworking bool = false

@description('Origins whose pages may PUT uploads and show silver images with a SAS (the web app); empty = none.')
param corsOrigins array = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206:False positive: checkov reads the parameter's symbol (skuName), not its value. The default is Standard_GRS (geo-replicated); LRS is allowed only as an explicit cost choice.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Users upload with user-delegation SAS (signed with Entra credentials), the app uses
    // its managed identity: no account key is needed, so shared-key auth is off.
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Enabled even with privateNetworking: then the firewall denies everything except
    // trusted services, so Event Grid (a trusted service, with its managed identity) can
    // still write dead letters; 'Disabled' would block that exception too.
    // checkov:skip=CKV_AZURE_59:The public endpoint must exist for Event Grid dead-lettering (trusted-service exception) and, without privateNetworking, for user uploads with user-delegation SAS; the firewall denies all else when privateNetworking=true.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      // checkov:skip=CKV_AZURE_35:Allow only when privateNetworking=false: users upload from the internet and Flex Consumption without VNet integration has no fixed outbound IPs. With privateNetworking=true the firewall denies all but trusted services and private endpoints.
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
    // Soft delete: an operator's mistaken delete of bronze (the only raw copy) is recoverable.
    deleteRetentionPolicy: {
      enabled: true
      days: 14
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 14
    }
    // The web app's upload page PUTs straight to one blob with a short-lived write-only SAS (web/azure_sas.py).
    cors: {
      corsRules: empty(corsOrigins) ? [] : [
        {
          allowedOrigins: corsOrigins
          allowedMethods: [
            'PUT'
            'GET'
            'HEAD'
          ]
          allowedHeaders: [
            'x-ms-blob-type'
            'x-ms-version'
            'x-ms-client-request-id'
            'content-type'
            'content-length'
          ]
          exposedHeaders: [
            'x-ms-request-id'
            'etag'
          ]
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containerNames: {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}]

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

var bronzeRule = {
  enabled: true
  name: 'bronze-cool-then-archive'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${bronzeContainerName}/'
      ]
    }
    actions: {
      baseBlob: {
        tierToCool: {
          daysAfterModificationGreaterThan: bronzeCoolAfterDays
        }
        // daysAfterLastTierChange: a blob rehydrated for a backfill stays online for a
        // week instead of being sent straight back to Archive by the next daily run.
        tierToArchive: {
          daysAfterModificationGreaterThan: bronzeArchiveAfterDays
          daysAfterLastTierChangeGreaterThan: 7
        }
      }
    }
  }
}

var uploadsRule = {
  enabled: true
  name: 'uploads-delete-after-copy'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${uploadsContainerName}/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterModificationGreaterThan: uploadsDeleteAfterDays
        }
      }
    }
  }
}

var deadLetterRule = {
  enabled: true
  name: 'eventgrid-deadletter-expiry'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        '${deadLetterContainerName}/'
      ]
    }
    actions: {
      baseBlob: {
        delete: {
          daysAfterModificationGreaterThan: deadLetterRetentionDays
        }
      }
    }
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: concat([
        bronzeRule
        deadLetterRule
      ], uploadsDeleteAfterDays > 0 ? [
        uploadsRule
      ] : [])
    }
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output deadLetterContainerName string = deadLetterContainer.name
