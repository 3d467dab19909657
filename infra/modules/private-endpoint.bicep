// One private endpoint with its DNS zone group, so the target's public name resolves to
// the endpoint's private IP inside the VNet (network.bicep links the zones).

param name string
param location string
param tags object = {}

param subnetId string
param targetResourceId string

@description('Private link sub-resource: blob, queue, table, namespace, Sql, vault, amlworkspace, registry.')
param groupId string
@description('Private DNS zones for the endpoint (Azure ML needs two: api and notebooks).')
param privateDnsZoneIds array

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [for (zoneId, i) in privateDnsZoneIds: {
      name: '${groupId}-${i}'
      properties: {
        privateDnsZoneId: zoneId
      }
    }]
  }
}

output id string = endpoint.id
